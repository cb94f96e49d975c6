"""`paystream top`'s loop: refresh every interval until Ctrl-C, or show one frame."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.live import Live

from scripts.devstack.layout import Target
from scripts.plural import counted
from scripts.top.frame import Watcher
from scripts.top.render import render
from scripts.top.scrape import client

FOUND_ALARMS = 1


def heading(targets: Sequence[Target], interval: float) -> str:
    now = datetime.now().strftime("%H:%M:%S")
    watched = counted(len(targets), "process", "processes")
    return f"paystream top: {watched}, rates over {interval:g}s, at {now}"


def run_top(targets: Sequence[Target], console: Console, interval: float, once: bool) -> int:
    """Show `targets` live until Ctrl-C (exit 0); with `once`, one frame with its rates
    over one interval (exit 1 when it shows an alarm)."""
    with client() as http:
        watcher = Watcher(targets, http)
        if once:
            return show_once(watcher, console, interval)
        try:
            with Live(console=console, screen=console.is_terminal, auto_refresh=False) as live:
                while True:
                    live.update(render(watcher.refresh(), heading(targets, interval)), refresh=True)
                    time.sleep(interval)
        except KeyboardInterrupt:
            return 0


def show_once(watcher: Watcher, console: Console, interval: float) -> int:
    """Two refreshes `interval` apart, the second shown; exit 1 when it has an alarm."""
    watcher.refresh()
    time.sleep(interval)
    shown = watcher.refresh()
    console.print(render(shown, heading(watcher.targets, interval)))
    return FOUND_ALARMS if shown.alarms else 0
