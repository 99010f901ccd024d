"""Where the applicant lives: the region a submission is routed for.

Sources, in order: the portal's routing hint, then the keys validation found in the data
(through the schema catalog's expressions). Within a source the most precise key wins:
ARS, then AGS, then postal code (with the municipality name, when given, to pick among
the municipalities a code spans). Keys are checked against the official list: a key
that does not exist is an error, never a guess.

The municipality name only narrows candidates; it is never recorded (it is free text
from the applicant), only whether it was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.routing.postcodes import POSTAL_CODE_PATTERN, Place, PostcodeIndex, name_key
from services.routing.regions import RegionIndex
from services.routing.resolve import InvalidRegionError, normalise_region

_MIN_PREFIX_NAME = 4


class NoRegionError(ValueError):
    """Neither the hint nor the data name a region."""


@dataclass(frozen=True)
class Location:
    """The region as found: one ARS, or several when a postal code spans municipalities."""

    source: str
    """``hint`` or ``data``."""
    key: str
    """``ars``, ``ags`` or ``postalCode``."""
    given: str
    """The key as given (spaces removed)."""
    candidates: tuple[str, ...]
    by_name: bool = False
    """Whether the municipality name narrowed the postal code's candidates."""

    def record(self) -> dict[str, Any]:
        """What the routing event keeps of it: where the key came from, never its value."""
        found: dict[str, Any] = {"source": self.source, "key": self.key}
        if self.key == "postalCode":
            found["candidates"] = list(self.candidates)
            found["byMunicipality"] = self.by_name
        return found


def locate(
    regions: RegionIndex,
    postcodes: PostcodeIndex,
    hint: Mapping[str, Any] | None,
    data_keys: Mapping[str, Any] | None,
) -> Location:
    """The applicant's region; raises :class:`NoRegionError` or ``InvalidRegionError``."""
    for source, keys in (("hint", hint), ("data", data_keys)):
        found = _keys(keys)
        if found:
            return _resolve(regions, postcodes, source, found)
    msg = "neither the routing hint nor the data give an ARS, AGS or postal code"
    raise NoRegionError(msg)


def _keys(keys: Mapping[str, Any] | None) -> dict[str, str]:
    keys = keys or {}
    found = {
        "ars": keys.get("ars"),
        "ags": keys.get("ags"),
        "postalCode": keys.get("postalCode") or keys.get("postal_code"),
        "municipality": keys.get("municipality"),
    }
    return {
        k: "".join(str(v).split()) if k != "municipality" else str(v) for k, v in found.items() if v
    }


def _resolve(
    regions: RegionIndex, postcodes: PostcodeIndex, source: str, keys: dict[str, str]
) -> Location:
    for key in ("ars", "ags"):
        if key in keys:
            ars = normalise_region(keys[key], regions)
            return Location(source, key, keys[key], (ars,))
    if "postalCode" not in keys:
        msg = f"the {source} names a municipality but no ARS, AGS or postal code"
        raise NoRegionError(msg)
    code = keys["postalCode"]
    if not POSTAL_CODE_PATTERN.fullmatch(code):
        msg = f"the postal code in the {source} is not a 5-digit postal code"
        raise InvalidRegionError(msg)
    places = postcodes.places(code)
    if not places:
        unknown = postcodes.unknown_keys(code)
        if unknown:
            msg = (
                f"the postal code in the {source} leads to {', '.join(unknown)}, "
                f"not in the regional key list {regions.version}"
            )
        else:
            msg = f"the postal code in the {source} is not in the postal code list"
        raise InvalidRegionError(msg)
    named = _by_name(places, keys.get("municipality"))
    chosen = named or places
    return Location(source, "postalCode", code, tuple(p.ars for p in chosen), bool(named))


def _by_name(places: tuple[Place, ...], municipality: str | None) -> tuple[Place, ...]:
    """The places whose name is the given one (or starts it: "Köln-Porz" is in Köln)."""
    if not municipality or len(places) < 2:
        return ()
    given = name_key(municipality).replace(" ", "")
    names = [
        (place, {name_key(n).replace(" ", "") for n in (place.name, place.official_name)})
        for place in places
    ]
    exact = tuple(place for place, keys in names if given in keys)
    if exact:
        return exact
    return tuple(
        place
        for place, keys in names
        if any(len(k) >= _MIN_PREFIX_NAME and given.startswith(k) for k in keys)
    )
