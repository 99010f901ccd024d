"""The month a usage report covers, as German authorities bill it: in Europe/Berlin time.

``2026-11`` is from 1 November 2026 00:00 to 1 December 2026 00:00 Berlin time (CET or
CEST, whichever holds then), so an event at 23:30 UTC on 31 October counts for November.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts import linear_regex

ZONE = ZoneInfo("Europe/Berlin")
_MONTH = linear_regex.compile(r"^([0-9]{4})-([0-9]{2})$")


class MonthError(ValueError):
    """Not a month of the form ``YYYY-MM``."""


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month in Europe/Berlin."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11`` → Month(2026, 11); ``MonthError`` otherwise."""
        found = _MONTH.match(text.strip())
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise MonthError(f"{text!r} is not a month such as 2026-11")
        return cls(int(found.group(1)), int(found.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """Its first moment, in Berlin time."""
        return datetime(self.year, self.month, 1, tzinfo=ZONE)

    @property
    def end(self) -> datetime:
        """The first moment of the next month, in Berlin time."""
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return datetime(year, month, 1, tzinfo=ZONE)

    def holds(self, moment: datetime) -> bool:
        """Whether ``moment`` (timezone-aware) falls in this month."""
        return self.start <= moment < self.end
