"""The overview's figures: `paystream top`'s frame (the same scrapes and derivations),
over what `paystream up` recorded in its layout, read again at every refresh."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from scripts.devstack.layout import BadLayout, Target, read_targets
from scripts.top.frame import Frame, Watcher
from scripts.top.scrape import client


class LayoutUnreadable(Exception):
    """The services' layout cannot be read: the overview says so instead of figures."""


class LiveView:
    """One watcher for every browser: rates and stalls need the previous refresh."""

    def __init__(self, data_dir: Path, http: httpx.Client | None = None) -> None:
        self.data_dir = data_dir
        self.http = http or client()
        self._lock = threading.Lock()
        self._targets: list[Target] = []
        self._watcher: Watcher | None = None

    def refresh(self) -> Frame:
        """The frame of now; a new watcher whenever the layout changed."""
        try:
            targets = read_targets(self.data_dir)
        except BadLayout as error:
            raise LayoutUnreadable(str(error)) from None
        with self._lock:
            if self._watcher is None or targets != self._targets:
                self._targets = targets
                self._watcher = Watcher(targets, self.http)
            return self._watcher.refresh()
