"""Bounds on what a portal's documents may put into Amtsweg's records and messages.

A submission that is accepted must stay publishable all the way to its authority: the
metadata travels (encrypted) in the delivery envelope on Kafka, so its size as Amtsweg
serializes it is bounded, and so is its nesting, which every recursive reader (the JSON
encoder, the schema validator, pydantic) pays for with stack frames. The depth is
measured without recursion, so a document nested beyond Python's recursion limit is
refused like any other, with a problem and never with a ``RecursionError``.
"""

from __future__ import annotations

import json
from typing import Any

from services.intake.errors import ProblemError, too_large


def nesting_depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0, ``[]`` is 1)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth + 1)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def check_depth(document: Any, name: str, limit: int) -> None:
    """A 422 ``too-deeply-nested`` problem when ``document`` nests deeper than ``limit``."""
    if nesting_depth(document) > limit:
        raise too_deep(name, limit)


def too_deep(name: str, limit: int) -> ProblemError:
    """The 422 problem for a document nested beyond the limit."""
    return ProblemError.single(
        422,
        "too-deeply-nested",
        "Too deeply nested",
        f"{name} nests arrays and objects more than {limit} levels deep.",
    )


def serialized_size(document: Any) -> int:
    """The bytes of ``document`` as Amtsweg stores and delivers it (UTF-8 JSON)."""
    return len(json.dumps(document, ensure_ascii=False).encode())


def check_size(document: Any, name: str, limit: int) -> None:
    """A 413 problem when ``document``, serialized as Amtsweg stores it, exceeds ``limit``."""
    if serialized_size(document) > limit:
        raise too_large(f"{name} exceeds {limit} bytes as JSON")
