"""Finding areas by name or postal code: the index behind FIT-Connect's ``/areas``.

An area is a municipality (or a city district of Berlin, Hamburg or Bremen) of the
official ARS list; its id is its 12-digit ARS. The index is built once from the ARS list
and the postal code list: every word of an area's official name (folded: case, umlauts,
accents; :func:`fold`) and every postal code reaching it is a *token* of that area.

A search is a list of expressions; each expression is words separated by spaces or
punctuation, each word a token pattern with ``*`` as wildcard (``Mag*``: a token starting
with ``mag``; ``*burg``: ending with ``burg``; ``*agde*``: containing ``agde``;
``Ma*burg``: both). An area matches when every word of every expression matches one of
its tokens. Lookups never scan the areas: an exact word is one dictionary lookup, a
pattern anchored at its start a binary search in the sorted tokens, any other pattern a
binary search in the sorted suffixes of the tokens; the work is proportional to the
tokens that match, and the patterns' rest is checked on those only (plain string
searches, no regular expressions).
"""

from __future__ import annotations

import bisect
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.routing.postcodes import PostcodeIndex, name_key
from services.routing.regions import RegionIndex

WILDCARD = "*"
MIN_FRAGMENT = 2
"""A word's parts between wildcards have at least this many characters (the spec's rule)."""
_OFFSET_BITS = 6
"""A suffix is stored as ``token number << 6 | offset``: tokens are shorter than 64."""
_AFTER = "\U0010ffff"
"""Sorts after every continuation of a prefix."""
_CITY_STATES = {"02": "020000000000", "11": "110000000000", "04011": "040110000000"}
"""Where the ARS list holds city districts: the city's own key among them."""
_TOWN_SUFFIXES = ("stadt", "st", "gkst")
"""Name suffixes of towns (``", Stadt"``, ``", Hansestadt"``, Bavaria's ``", St"``)."""
_KINDS = (
    ("gemfr", "gemeindefreies Gebiet"),
    ("gemeindefrei", "gemeindefreies Gebiet"),
    ("markt", "Markt"),
    ("flecken", "Flecken"),
)
"""Other name suffixes, by their start; Bavaria's ``", M"`` is a Markt too."""


@dataclass(frozen=True)
class Area:
    """A municipality or city district: its ARS (the area id), official name and kind."""

    ars: str
    name: str
    kind: str
    """``Kreisfreie Stadt``, ``Stadt``, ``Markt``, ``Flecken``, ``Gemeinde``,
    ``gemeindefreies Gebiet`` or ``Stadtteil``."""


@dataclass(frozen=True)
class Pattern:
    """One word of a search: its parts between wildcards, and whether it is anchored."""

    fragments: tuple[str, ...]
    anchored_start: bool
    anchored_end: bool

    def matches(self, token: str) -> bool:
        """Whether ``token`` matches (leftmost placement of each part in turn)."""
        first, last = self.fragments[0], self.fragments[-1]
        if self.anchored_start and not token.startswith(first):
            return False
        if self.anchored_end and not token.endswith(last):
            return False
        if self.anchored_start and self.anchored_end and len(self.fragments) == 1:
            return token == first
        position = len(first) if self.anchored_start else 0
        middle = self.fragments[1:] if self.anchored_start else self.fragments
        end = len(token) - len(last) if self.anchored_end else len(token)
        if self.anchored_end:
            middle = middle[:-1]
        for fragment in middle:
            found = token.find(fragment, position, end)
            if found < 0:
                return False
            position = found + len(fragment)
        return position <= end


def fold(text: str) -> str:
    """Text folded for comparison, keeping ``*``: case, umlauts (ä → ae …), ß and accents
    folded, other characters than letters and digits become spaces (``"Halle (Saale)"`` →
    ``"halle  saale "``, ``"Mag*"`` → ``"mag*"``)."""
    text = text.casefold()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c if (c.isalnum() and c.isascii()) or c == WILDCARD else " " for c in text)


def patterns(expression: str) -> list[Pattern]:
    """The word patterns of one expression; words without a part of two characters (``"a."``
    in ``"Frankfurt a. M."``) drop out."""
    found: list[Pattern] = []
    for word in fold(expression).split():
        fragments = tuple(part for part in word.split(WILDCARD) if part)
        if not fragments or all(len(part) < MIN_FRAGMENT for part in fragments):
            continue
        found.append(Pattern(fragments, not word.startswith(WILDCARD), not word.endswith(WILDCARD)))
    return found


def area_kind(ars: str, name: str, district_size: int) -> str:
    """What kind of area the ARS list's row is, from its key, its name's suffix and how
    many municipalities its district (``ARS[:5]``) has."""
    for prefix, city in _CITY_STATES.items():
        if ars.startswith(prefix) and ars != city:
            return "Stadtteil"
    suffix = name.partition(",")[2].strip().casefold()
    if suffix.endswith(_TOWN_SUFFIXES):
        return "Kreisfreie Stadt" if district_size == 1 else "Stadt"
    if suffix == "m":
        return "Markt"
    return next((kind for start, kind in _KINDS if suffix.startswith(start)), "Gemeinde")


class AreaIndex:
    """The areas of one ARS list, searchable by name words and postal codes."""

    def __init__(self, regions: RegionIndex, postcodes: PostcodeIndex) -> None:
        codes = regions.codes()
        district_sizes: dict[str, int] = {}
        for ars in codes:
            district_sizes[ars[:5]] = district_sizes.get(ars[:5], 0) + 1
        self._areas: list[Area] = []
        postings: dict[str, set[int]] = {}
        number: dict[str, int] = {}
        for ars in codes:
            name = regions.name(ars) or ars
            number[ars] = len(self._areas)
            self._areas.append(Area(ars, name, area_kind(ars, name, district_sizes[ars[:5]])))
            for word in fold(name).replace(WILDCARD, " ").split():
                postings.setdefault(word, set()).add(number[ars])
        for code in postcodes.codes():
            for place in postcodes.places(code):
                postings.setdefault(code, set()).add(number[place.ars])
        self._tokens = sorted(t for t in postings if len(t) < 1 << _OFFSET_BITS)
        self._postings = [tuple(sorted(postings[t])) for t in self._tokens]
        self._exact = {token: i for i, token in enumerate(self._tokens)}
        suffixes = [
            i << _OFFSET_BITS | offset
            for i, token in enumerate(self._tokens)
            for offset in range(len(token) - MIN_FRAGMENT + 1)
        ]
        suffixes.sort(key=self._suffix)
        self._suffixes = array("q", suffixes)
        self._order = sorted(
            range(len(self._areas)), key=lambda i: (name_key(self._areas[i].name), i)
        )
        self._rank = {area: rank for rank, area in enumerate(self._order)}

    def __len__(self) -> int:
        return len(self._areas)

    def _suffix(self, entry: int) -> str:
        return self._tokens[entry >> _OFFSET_BITS][entry & ((1 << _OFFSET_BITS) - 1) :]

    def search(self, expressions: Iterable[str]) -> list[Area]:
        """The areas matching every word of every expression, ordered by name then ARS.

        Expressions without any word of two characters match nothing.
        """
        words = [pattern for expression in expressions for pattern in patterns(expression)]
        if not words:
            return []
        found = self._areas_matching(words[0])
        for pattern in words[1:]:
            found &= self._areas_matching(pattern)
        return [self._areas[i] for i in sorted(found, key=self._rank.__getitem__)]

    def _areas_matching(self, pattern: Pattern) -> set[int]:
        areas: set[int] = set()
        for token in self._tokens_matching(pattern):
            areas.update(self._postings[token])
        return areas

    def _tokens_matching(self, pattern: Pattern) -> Sequence[int]:
        first = pattern.fragments[0]
        if pattern.anchored_start and pattern.anchored_end and len(pattern.fragments) == 1:
            token = self._exact.get(first)
            return () if token is None else (token,)
        candidates: Iterable[int]
        if pattern.anchored_start and len(first) >= MIN_FRAGMENT:
            low = bisect.bisect_left(self._tokens, first)
            high = bisect.bisect_left(self._tokens, first + _AFTER)
            candidates = range(low, high)
        else:  # the longest part, somewhere in the token
            part = max(pattern.fragments, key=len)
            low = bisect.bisect_left(self._suffixes, part, key=self._suffix)
            high = bisect.bisect_left(self._suffixes, part + _AFTER, key=self._suffix)
            candidates = sorted({entry >> _OFFSET_BITS for entry in self._suffixes[low:high]})
        return [token for token in candidates if pattern.matches(self._tokens[token])]
