"""Bisecting a failed batch until each message that fails by itself is alone.

A stage runs a batch in one ledger transaction. When it fails because of one message,
retrying the batch fails for ever and blocks every message in it. :func:`isolate` runs
the batch; on a failure of the message kind (:func:`events.failures.is_transient` says
no) it runs each half on its own, and so on, until a failing message stands alone: that
one is handed back as a failure, every other message of the batch is processed. A
transient failure (database or broker unavailable) is raised as it is, for the whole
batch to be retried with backoff. One bad message among n costs about 2·log2(n) runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from events.failures import is_transient

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Isolated(Generic[T, R]):
    """What a bisected batch gave: a result per processed item (None for a failed one), in
    order, and each item that failed alone with its error."""

    results: list[R | None]
    failed: list[tuple[T, Exception]]


def isolate(items: Sequence[T], run: Callable[[Sequence[T]], list[R]]) -> Isolated[T, R]:
    """``run(items)``, halving on failures of the items' own until each stands alone.

    ``run`` must be all or nothing (one transaction): after it raises, nothing of its
    items is done. Transient errors propagate.
    """
    if not items:
        return Isolated([], [])
    try:
        return Isolated(list(run(items)), [])
    except Exception as error:
        if is_transient(error):
            raise
        if len(items) == 1:
            return Isolated([None], [(items[0], error)])
    middle = len(items) // 2
    first = isolate(items[:middle], run)
    second = isolate(items[middle:], run)
    return Isolated(first.results + second.results, first.failed + second.failed)
