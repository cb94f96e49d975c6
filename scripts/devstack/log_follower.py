"""`paystream up` follows every service's log files and prints their new lines readable.

The services keep writing their own JSON files (`.paystream/logs`, rotated by each
service), so the terminal view adds nothing to them and loses nothing: a file is
followed by name, as `tail -F` does, from where it ended when `up` began; a restarted
service appends to the same file, and a file rotated away is read to its end before
the new one is opened.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rich.console import Console

from scripts.devstack.log_view import colour_of, readable

POLL_SECONDS = 0.2


@dataclass
class FileTail:
    """The lines appended to one file since it was last read, across rotation."""

    path: Path
    file: BinaryIO | None = field(default=None, repr=False)
    partial: bytes = b""

    @classmethod
    def from_end(cls, path: Path) -> FileTail:
        """Follow `path` from where it ends now (a file made later: from its start)."""
        tail = cls(path)
        if tail.reopen():
            assert tail.file is not None
            tail.file.seek(0, os.SEEK_END)
        return tail

    def reopen(self) -> bool:
        """Open the file now at `path`; False when there is none yet."""
        if self.file is not None:
            self.file.close()
            self.file = None
        try:
            self.file = self.path.open("rb")
        except FileNotFoundError:
            return False
        return True

    def new_lines(self) -> list[str]:
        """Every whole line written since the last call, oldest first."""
        if self.file is None and not self.reopen():
            return []
        data = self._read()
        while self.replaced():
            data += self._read()  # what was written before it was rotated away
            if not self.reopen():
                break
            data += self._read()
        *lines, self.partial = (self.partial + data).split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def _read(self) -> bytes:
        return b"" if self.file is None else self.file.read()

    def replaced(self) -> bool:
        """Whether `path` now names another file (rotated) or a shorter one (truncated)."""
        if self.file is None:
            return False
        try:
            now = self.path.stat()
        except FileNotFoundError:
            return False  # mid-rotation: the new file comes next time
        return now.st_ino != os.fstat(self.file.fileno()).st_ino or now.st_size < self.file.tell()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


@dataclass
class FollowedService:
    """A service's files, and how its lines are shown."""

    name: str
    colour: str
    tails: list[FileTail]


class LogFollower:
    """Prints every followed service's new lines, in a thread of its own until stopped."""

    def __init__(self, console: Console, files: dict[str, list[Path]]) -> None:
        self.console = console
        self.width = max((len(name) for name in files), default=0)
        self.services = [
            FollowedService(name, colour_of(index), [FileTail.from_end(p) for p in paths])
            for index, (name, paths) in enumerate(files.items())
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Print what is left to print, then stop following."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.print_new_lines()
        for service in self.services:
            for tail in service.tails:
                tail.close()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.print_new_lines()

    def print_new_lines(self) -> None:
        for service in self.services:
            for tail in service.tails:
                for line in tail.new_lines():
                    text = readable(service.name, self.width, service.colour, line)
                    self.console.print(text, soft_wrap=True, highlight=False)
