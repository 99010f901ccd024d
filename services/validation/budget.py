"""The time one document may take to validate, and the deadline that enforces it.

Parsing and schema checks are linear in the document (RE2 patterns, limits on size,
depth and count), so the budget is a backstop, not the defence: it stops a document
that is slow for a reason nobody foresaw before it holds a worker for long. The
deadline is checked between the steps of a decision, for every element of the XML
guard pass, every chunk the XML parser is fed, and before every JSON Schema keyword;
one libxml2 call (an XSD validation) cannot be interrupted and is checked after.

A rejection for time depends on the machine, unlike every other finding: it is recorded
like any other (``validation-time-exceeded``), and a replay may decide otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_SECONDS = 30.0


class TimeBudgetExceededError(Exception):
    """The document's validation took longer than its budget."""


@dataclass(frozen=True)
class TimeBudget:
    """At most ``seconds`` per document, measured by ``clock`` (monotonic seconds)."""

    seconds: float = DEFAULT_SECONDS
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            msg = "the time budget must be positive"
            raise ValueError(msg)

    def start(self) -> Deadline:
        """A deadline ``seconds`` from now."""
        return Deadline(self.clock() + self.seconds, self.clock, self.seconds)


@dataclass(frozen=True)
class Deadline:
    """The moment a validation must be done by."""

    at: float
    clock: Callable[[], float]
    seconds: float

    def check(self) -> None:
        """Raise :class:`TimeBudgetExceededError` once the deadline has passed."""
        if self.clock() > self.at:
            msg = f"validation took longer than {self.seconds:g} s"
            raise TimeBudgetExceededError(msg)


DEFAULT_TIME_BUDGET = TimeBudget()

NO_DEADLINE = TimeBudget(seconds=float("inf")).start()
"""A deadline that never passes (for callers without a budget)."""
