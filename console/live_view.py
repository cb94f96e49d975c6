"""The overview's figures: `paystream top`'s frame (the same scrapes and derivations),
over what `paystream up` recorded in its layout, read again at every refresh."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.devstack.layout import BadLayout, Target, read_targets
from scripts.top.dead_letters import dead_letters
from scripts.top.frame import Frame, Watcher
from scripts.top.scrape import client


class LayoutUnreadable(Exception):
    """The services' layout cannot be read: the overview says so instead of figures."""


@dataclass(frozen=True)
class Shown:
    """What the overview shows at one refresh: top's frame, and the dead letters."""

    frame: Frame
    dead_letters: dict[str, int]


class LiveView:
    """One watcher for every browser: rates and stalls need the previous refresh."""

    def __init__(self, data_dir: Path, http: httpx.Client | None = None) -> None:
        self.data_dir = data_dir
        self.http = http or client()
        self._lock = threading.Lock()
        self._targets: list[Target] = []
        self._watcher: Watcher | None = None

    def refresh(self) -> Shown:
        """What there is to show now; a new watcher whenever the layout changed."""
        try:
            targets = read_targets(self.data_dir)
        except BadLayout as error:
            raise LayoutUnreadable(str(error)) from None
        with self._lock:
            if self._watcher is None or targets != self._targets:
                self._targets = targets
                self._watcher = Watcher(targets, self.http)
            frame = self._watcher.refresh()
            return Shown(frame, dead_letters(self._watcher.previous.values()))
