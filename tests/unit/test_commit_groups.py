"""Group commit's queue in memory: items that wait while a group is written form the
next group, in order and within bounds, and each gets its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from eventstore.group_commit import CommitGroups


class Writer:
    """Writes groups of ints: a negative one is refused alone; the first group is held
    until released, so the items submitted meanwhile queue behind it."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_with: BaseException | None = None

    def __call__(self, items: list[int]) -> Sequence[int | Exception]:
        self.groups.append(items)
        if len(self.groups) == 1:
            self.entered.set()
            assert self.release.wait(timeout=10)
        if self.fail_with is not None:
            raise self.fail_with
        return [ValueError(f"refused {i}") if i < 0 else i * 10 for i in items]


def run_behind_first(
    groups: CommitGroups[int, int], writer: Writer, first: int, rest: list[int]
) -> dict[int, int | BaseException]:
    """Submit `first` until it is being written, then `rest` from threads that queue
    behind it; release; each item's outcome."""
    outcomes: dict[int, int | BaseException] = {}

    def submit(item: int) -> None:
        try:
            outcomes[item] = groups.submit(item)
        except BaseException as error:  # the outcome under test
            outcomes[item] = error

    threads = [threading.Thread(target=submit, args=(first,))]
    threads[0].start()
    assert writer.entered.wait(timeout=10)
    for item in rest:
        threads.append(threading.Thread(target=submit, args=(item,)))
        threads[-1].start()
        while True:  # queue them in this order
            with groups._turn:
                if len(groups._queue) == len(threads) - 1:
                    break
    writer.release.set()
    for thread in threads:
        thread.join(timeout=10)
    return outcomes


def make(writer: Writer, max_items: int = 64, max_size: int = 1000) -> CommitGroups[int, int]:
    return CommitGroups(writer, max_items=max_items, max_size=max_size, size=abs)


def test_a_lone_item_is_written_at_once_alone() -> None:
    writer = Writer()
    writer.release.set()
    assert make(writer).submit(3) == 30
    assert writer.groups == [[3]]


def test_items_waiting_behind_a_write_form_the_next_group_in_order() -> None:
    writer = Writer()
    outcomes = run_behind_first(make(writer), writer, 1, [2, 3, 4])
    assert writer.groups == [[1], [2, 3, 4]]
    assert outcomes == {1: 10, 2: 20, 3: 30, 4: 40}


def test_a_refused_item_fails_alone() -> None:
    writer = Writer()
    outcomes = run_behind_first(make(writer), writer, 1, [2, -3, 4])
    assert outcomes[2] == 20 and outcomes[4] == 40
    assert isinstance(outcomes[-3], ValueError)


def test_groups_keep_within_their_bounds() -> None:
    writer = Writer()
    run_behind_first(make(writer, max_items=2), writer, 1, [2, 3, 4, 5])
    assert writer.groups == [[1], [2, 3], [4, 5]]
    writer = Writer()
    run_behind_first(make(writer, max_size=10), writer, 1, [6, 4, 7, 12])
    assert writer.groups == [[1], [6, 4], [7], [12]]  # 12 alone, though over the bound


def test_a_failed_write_is_every_items_outcome_and_the_next_group_still_runs() -> None:
    writer = Writer()
    writer.fail_with = ConnectionError("database away")
    groups = make(writer)
    outcomes = run_behind_first(groups, writer, 1, [2, 3])
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes.values())
    writer.fail_with = None
    assert groups.submit(5) == 50


def test_a_write_answering_the_wrong_number_of_outcomes_fails_the_group() -> None:
    groups: CommitGroups[int, int] = CommitGroups(
        lambda items: [], max_items=4, max_size=4, size=abs
    )
    with pytest.raises(RuntimeError, match="a group of 1 got 0 outcomes"):
        groups.submit(1)


def test_a_group_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError):
        CommitGroups(Writer(), max_items=0, max_size=1, size=abs)
