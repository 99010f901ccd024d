"""JSON Schema validators whose regular expressions run on RE2, with a hook for a time budget.

``jsonschema`` evaluates ``pattern``, ``patternProperties`` (and the property names
``additionalProperties`` checks against them) with Python's backtracking ``re``: a
schema's ``^[a-z]+|[0-9]+$`` against a long ``"aaaa…!"`` takes quadratic time, nested
quantifiers exponential. The validators made here evaluate them with
:mod:`contracts.linear_regex` instead, and ``format: regex`` asks whether RE2 compiles
the value. A pattern RE2 does not accept (backreferences, lookaround) makes the schema
unusable at load time (:func:`check_patterns`), never at validation time.

Every keyword first calls the function set by :func:`checkpoint` (if any), so a caller
can stop a validation that runs out of time by raising from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.protocols import Validator

from contracts import linear_regex

Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Iterator[ValidationError] | None]

_CHECKPOINT: ContextVar[Callable[[], None] | None] = ContextVar("schema_checkpoint", default=None)


@contextmanager
def checkpoint(check: Callable[[], None]) -> Iterator[None]:
    """Call ``check`` before every keyword evaluated in this context (it may raise)."""
    token = _CHECKPOINT.set(check)
    try:
        yield
    finally:
        _CHECKPOINT.reset(token)


def check_patterns(schema: Any) -> None:
    """Raise :data:`linear_regex.PatternError` for a pattern in ``schema`` RE2 cannot run."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                linear_regex.cached(value)
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    linear_regex.cached(pattern)
            if key not in ("enum", "const", "examples", "default"):
                check_patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            check_patterns(item)


def _pattern(
    validator: Validator, pattern: str, instance: Any, _schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not linear_regex.cached(pattern).search(instance):
        yield ValidationError(f"does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, _schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = linear_regex.cached(pattern)
        for name, value in instance.items():
            if compiled.search(name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [linear_regex.cached(pattern) for pattern in schema.get("patternProperties", {})]
    extras = [
        name
        for name in instance
        if name not in properties and not any(p.search(name) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(f"{len(extras)} member(s) not allowed here")


def _guarded(keyword: Keyword) -> Keyword:
    def guarded(
        validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError] | None:
        check = _CHECKPOINT.get()
        if check is not None:
            check()
        return keyword(validator, value, instance, schema)

    return guarded


def _format_checker() -> FormatChecker:
    checker: FormatChecker = deepcopy(Draft202012Validator.FORMAT_CHECKER)
    checker.checks("regex", raises=linear_regex.PatternError)(_compiles)
    return checker


def _compiles(instance: object) -> bool:
    if isinstance(instance, str):
        linear_regex.compile(instance)
    return True


_KEYWORDS: dict[str, Keyword] = {
    **Draft202012Validator.VALIDATORS,
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}

LinearDraft202012Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={name: _guarded(keyword) for name, keyword in _KEYWORDS.items()},
)
"""Draft 2020-12 with RE2 patterns and the checkpoint before every keyword."""

FORMAT_CHECKER = _format_checker()
"""Draft 2020-12's format checks, ``regex`` judged by RE2."""


def linear_validator(schema: Mapping[str, Any], **options: Any) -> Validator:
    """A validator for ``schema`` (already checked against its meta-schema) on RE2.

    Raises :data:`linear_regex.PatternError` for a pattern RE2 cannot run, and
    ``ValueError`` for ``unevaluatedProperties`` next to ``patternProperties`` (jsonschema
    would evaluate those patterns with ``re``).
    """
    check_patterns(schema)
    if _uses_both(schema):
        msg = "unevaluatedProperties together with patternProperties is not supported"
        raise ValueError(msg)
    options.setdefault("format_checker", FORMAT_CHECKER)
    validator: Validator = LinearDraft202012Validator(schema, **options)
    return validator


def _uses_both(schema: Any) -> bool:
    text = repr(schema)
    return "'unevaluatedProperties'" in text and "'patternProperties'" in text
