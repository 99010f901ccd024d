"""Hardened parsing of untrusted JSON payloads (FIM JSON data).

JSON has no entities or external references, but a parser can still be made to spend
memory and time: huge documents, deep nesting (Python's decoder recurses), millions of
tiny values, numbers with thousands of digits. And duplicate member names make a
document mean different things to different readers, so they are refused.

Checks, in this order: size; strict UTF-8 (RFC 8259); depth and number of values, by
byte-level scans before any object is built; then decoding, refusing duplicate member
names, ``NaN``/``Infinity`` and over-long numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from contracts import linear_regex
from services.validation.json_positions import duplicate_member_line

_STRING = linear_regex.compile(rb'"(?:[^"\\]|\\.)*"', dot_all=True)
_BRACKETS = frozenset(b"[]{}")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)
_EMPTY_CONTAINERS = (b"[]", b"{}", b"[}", b"{]")
_JSON_WHITESPACE = b" \t\n\r"


@dataclass(frozen=True)
class JsonLimits:
    """Resource limits for one untrusted JSON document."""

    max_bytes: int = 20 * 1024 * 1024
    max_depth: int = 64
    max_values: int = 1_000_000

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_depth, self.max_values) < 1:
            msg = "JSON limits must be positive"
            raise ValueError(msg)
        if self.max_depth > 500:
            msg = "max_depth cannot exceed 500 (the decoder recurses once per level)"
            raise ValueError(msg)


DEFAULT_JSON_LIMITS = JsonLimits()


@dataclass(frozen=True)
class JsonDocument:
    """A decoded JSON document and its text (kept to find the line of a finding)."""

    value: Any
    text: str


class JsonRejectedError(Exception):
    """An untrusted JSON document was refused; ``code`` is stable."""

    code: ClassVar[str] = "rejected"

    def __init__(self, message: str, line: int | None = None, path: str | None = None) -> None:
        super().__init__(message if line is None else f"{message} (line {line})")
        self.message = message
        self.line = line
        self.path = path


class JsonTooLargeError(JsonRejectedError):
    """The document is larger than ``JsonLimits.max_bytes``."""

    code: ClassVar[str] = "too-large"


class JsonMalformedError(JsonRejectedError):
    """Not JSON, not UTF-8, or a number JSON cannot carry (NaN, Infinity, 5000 digits)."""

    code: ClassVar[str] = "malformed"


class JsonTooDeepError(JsonRejectedError):
    """Arrays and objects are nested deeper than ``JsonLimits.max_depth``."""

    code: ClassVar[str] = "too-deep"


class JsonTooManyValuesError(JsonRejectedError):
    """The document has more values than ``JsonLimits.max_values``."""

    code: ClassVar[str] = "too-many-values"


class JsonDuplicateKeyError(JsonRejectedError):
    """An object has the same member name twice."""

    code: ClassVar[str] = "duplicate-key"


class _DuplicateError(Exception):
    pass


class _NumberError(ValueError):
    pass


def parse_untrusted_json(data: bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> JsonDocument:
    """Decode ``data`` as untrusted JSON; raises a :class:`JsonRejectedError` subclass."""
    if len(data) > limits.max_bytes:
        msg = f"document has {len(data)} bytes, limit is {limits.max_bytes}"
        raise JsonTooLargeError(msg)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        msg = f"not UTF-8 at byte {error.start}"
        raise JsonMalformedError(msg) from None
    _check_shape(data, limits)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as error:
        raise JsonMalformedError(error.msg, error.lineno) from None
    except _DuplicateError:
        found = duplicate_member_line(text)
        line, path = found if found is not None else (None, None)
        msg = "an object has the same member name twice"
        raise JsonDuplicateKeyError(msg, line, path) from None
    except _NumberError as error:
        raise JsonMalformedError(str(error)) from None
    except ValueError:  # Python's limit on integer digits (sys.get_int_max_str_digits)
        msg = "a number has more digits than allowed"
        raise JsonMalformedError(msg) from None
    except RecursionError:  # unreachable below max_depth 500; kept as a backstop
        msg = "nested too deeply for the decoder"
        raise JsonTooDeepError(msg) from None
    return JsonDocument(value, text)


def _check_shape(data: bytes, limits: JsonLimits) -> None:
    """Depth and number of values, counted on the bytes with string contents removed.

    Linear in the size: one RE2 pass removes the strings, the rest are byte counts and
    one walk over the brackets.
    """
    structure = _STRING.sub(b'""', data)
    depth = deepest = 0
    opening = ord("[")
    for bracket in structure.translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in (opening, ord("{")) else -1
        if depth > deepest:
            deepest = depth
            if deepest > limits.max_depth:
                msg = f"arrays and objects nested deeper than {limits.max_depth}"
                raise JsonTooDeepError(msg)
    containers = structure.count(b"[") + structure.count(b"{")
    compact = structure.translate(None, _JSON_WHITESPACE)
    empty = sum(compact.count(pair) for pair in _EMPTY_CONTAINERS)
    values = 1 + structure.count(b",") + containers - empty
    if values > limits.max_values:
        msg = f"more than {limits.max_values} values"
        raise JsonTooManyValuesError(msg)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateError
    return result


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        msg = "a number is too large for a 64-bit float"
        raise _NumberError(msg)
    return number


def _no_constant(name: str) -> None:
    msg = f"{name} is not a JSON number"
    raise _NumberError(msg)
