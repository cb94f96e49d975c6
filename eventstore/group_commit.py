"""Group commit: appends that arrive while a commit is in flight share the next one.

Callers in many threads hand their item to `CommitGroups.submit`. One of them, the
leader, takes every item waiting (up to `max_items`, and `max_size` in total) and writes
them with one call of `write`, which answers each item with its own result or its own
exception; the others wait for theirs. There is no timer: a group is what queued while
the previous write ran, so a lone caller writes at once and a busy store writes fewer,
larger transactions. Groups are written one at a time, in the order they were taken.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Waiting(Generic[T, R]):
    item: T
    size: int
    done: bool = False
    result: R | None = None
    error: BaseException | None = None

    def settle(self, outcome: R | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.error = outcome
        else:
            self.result = outcome
        self.done = True


class CommitGroups(Generic[T, R]):
    """Writes items in groups: `write(items)` answers one outcome per item, in order; an
    exception it raises is every item's outcome."""

    def __init__(
        self,
        write: Callable[[list[T]], Sequence[R | Exception]],
        *,
        max_items: int,
        max_size: int,
        size: Callable[[T], int],
    ) -> None:
        if max_items < 1 or max_size < 1:
            raise ValueError("a group holds at least one item")
        self.max_items = max_items
        self.max_size = max_size
        self._write = write
        self._size = size
        self._queue: deque[_Waiting[T, R]] = deque()
        self._turn = threading.Condition()
        self._writing = False

    def submit(self, item: T) -> R:
        """Write `item` in the next group: its result, or its exception raised."""
        waiting: _Waiting[T, R] = _Waiting(item, self._size(item))
        with self._turn:
            self._queue.append(waiting)
            while not waiting.done:
                if self._writing:
                    self._turn.wait()
                    continue
                group = self._take()
                self._writing = True
                self._turn.release()
                try:
                    self._write_group(group)
                finally:
                    self._turn.acquire()
                    self._writing = False
                    self._turn.notify_all()
        if waiting.error is not None:
            raise waiting.error
        return cast(R, waiting.result)

    def _take(self) -> list[_Waiting[T, R]]:
        """The oldest waiting items that fit in one group (always at least one)."""
        group = [self._queue.popleft()]
        total = group[0].size
        while self._queue and len(group) < self.max_items:
            if total + self._queue[0].size > self.max_size:
                break
            total += self._queue[0].size
            group.append(self._queue.popleft())
        return group

    def _write_group(self, group: list[_Waiting[T, R]]) -> None:
        """Write the group and settle each of its items, whatever happens."""
        try:
            outcomes: Sequence[R | BaseException] = self._write([w.item for w in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"a group of {len(group)} got {len(outcomes)} outcomes")
        except BaseException as error:
            for waiting in group:
                waiting.settle(error)
            if not isinstance(error, Exception):
                raise
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.settle(outcome)
