"""Bisection of a failed batch: every good item processed once, each bad one alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pytest

from events.publisher import PermanentPublishError, PublishError
from services.runtime.isolate import isolate


class _Batch:
    """A fake all-or-nothing run: raises if any item is bad, else "commits" them all."""

    def __init__(self, bad: set[int], error: Exception | None = None) -> None:
        self.bad = bad
        self.error = error
        self.committed: list[int] = []
        self.runs = 0

    def __call__(self, items: Sequence[int]) -> list[str]:
        self.runs += 1
        if self.bad & set(items):
            raise self.error or ValueError("a bad item")
        self.committed.extend(items)
        return [f"done {item}" for item in items]


@pytest.mark.parametrize(
    ("size", "bad"),
    [
        (1, set()),
        (200, set()),
        (1, {0}),
        (200, {137}),
        (200, {0, 199}),
        (7, {1, 2, 3}),
        (5, {0, 1, 2, 3, 4}),
    ],
)
def test_every_good_item_is_processed_once_and_each_bad_one_isolated(
    size: int, bad: set[int]
) -> None:
    run = _Batch(bad)
    isolated = isolate(list(range(size)), run)
    good = [item for item in range(size) if item not in bad]
    assert sorted(run.committed) == good
    assert len(run.committed) == len(good)  # nothing twice
    assert [item for item, _ in isolated.failed] == sorted(bad)
    assert all(isinstance(error, ValueError) for _, error in isolated.failed)
    assert isolated.results == [None if i in bad else f"done {i}" for i in range(size)]


def test_one_bad_item_in_200_costs_a_logarithmic_number_of_runs() -> None:
    run = _Batch({137})
    isolate(list(range(200)), run)
    assert run.runs <= 2 * 8 + 1


def test_order_is_kept_across_the_halves() -> None:
    run = _Batch({3})
    isolate(list(range(8)), run)
    assert run.committed == [0, 1, 2, 4, 5, 6, 7]


@pytest.mark.parametrize(
    "error",
    [OSError("down"), sqlite3.OperationalError("database is locked"), PublishError("timeout")],
    ids=["os", "sqlite-locked", "broker"],
)
def test_a_transient_failure_is_raised_for_the_whole_batch_to_be_retried(error: Exception) -> None:
    run = _Batch({5}, error)
    with pytest.raises(type(error)):
        isolate(list(range(10)), run)
    assert run.runs == 1
    assert run.committed == []


def test_a_permanent_publish_failure_is_isolated() -> None:
    run = _Batch({2}, PermanentPublishError("too large", cause="MessageSizeTooLargeError"))
    isolated = isolate(list(range(4)), run)
    assert [item for item, _ in isolated.failed] == [2]
    assert run.committed == [0, 1, 3]


def test_a_recursion_error_is_the_message_s_own() -> None:
    run = _Batch({1}, RecursionError("maximum recursion depth exceeded"))
    isolated = isolate([0, 1], run)
    assert [item for item, _ in isolated.failed] == [1]
