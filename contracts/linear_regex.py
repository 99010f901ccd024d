"""Regular expressions that run in time linear in their input (RE2), for all text from outside.

Python's ``re`` backtracks: ``[a-z]+$`` searched in ``"aaaa…!"`` takes time quadratic in
its length, nested quantifiers such as ``(a+)+$`` exponential. RE2 (Google's engine,
the ``google-re2`` package) simulates the automaton instead and guarantees linear time;
it has no backreferences and no lookaround, which no pattern of Amtsweg or of a
JSON Schema we accept needs. As in JSON Schema's ECMA-262 expressions, ``\\d`` and
``\\w`` match ASCII only.

Every search on ``str`` encodes the text to UTF-8 once: search a whole text in one
call (``search``, ``finditer``, ``sub``), never call ``match`` position by position.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any, AnyStr, Protocol, TypeVar, cast

import re2

PatternError = re2.error
"""Raised for a pattern RE2 does not accept (for example one with a backreference)."""


_Text_co = TypeVar("_Text_co", str, bytes, covariant=True)


class Match(Protocol[_Text_co]):
    """The part of a match object Amtsweg uses."""

    def group(self, index: int = 0, /) -> _Text_co:
        """The text of group ``index`` (0: the whole match)."""

    def __getitem__(self, index: int, /) -> _Text_co:
        """``group(index)``."""

    def start(self, index: int = 0, /) -> int:
        """Where group ``index`` starts."""

    def end(self, index: int = 0, /) -> int:
        """Where group ``index`` ends."""


class Pattern(Protocol[AnyStr]):
    """A compiled RE2 expression, with the methods of ``re.Pattern`` Amtsweg uses."""

    @property
    def pattern(self) -> AnyStr:
        """The source of the expression."""

    def search(self, text: AnyStr, /) -> Match[AnyStr] | None:
        """The first match anywhere in ``text``."""

    def match(self, text: AnyStr, /) -> Match[AnyStr] | None:
        """A match at the start of ``text``."""

    def fullmatch(self, text: AnyStr, /) -> Match[AnyStr] | None:
        """A match of the whole of ``text``."""

    def finditer(self, text: AnyStr, /) -> Iterator[Match[AnyStr]]:
        """Every non-overlapping match, in order."""

    def findall(self, text: AnyStr, /) -> list[Any]:
        """Every non-overlapping match (its groups, if it has any), in order."""

    def sub(self, replacement: AnyStr, text: AnyStr, /) -> AnyStr:
        """``text`` with every match replaced (``\\1`` names a group)."""


def compile(pattern: AnyStr, *, dot_all: bool = False) -> Pattern[AnyStr]:  # noqa: A001 - as re.compile
    """Compile ``pattern`` for RE2; ``dot_all`` lets ``.`` match newlines (``re.DOTALL``).

    Raises :data:`PatternError` for syntax RE2 does not have.
    """
    options = re2.Options()
    options.dot_nl = dot_all
    options.log_errors = False  # a refused pattern is reported by the exception alone
    return cast("Pattern[AnyStr]", re2.compile(pattern, options))


@lru_cache(maxsize=1024)
def cached(pattern: str) -> Pattern[str]:
    """``compile(pattern)``, kept for the next call (for patterns found in schemas)."""
    return compile(pattern)
