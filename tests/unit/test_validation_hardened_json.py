"""Hostile and broken JSON is refused by ``parse_untrusted_json`` with a typed error."""

from __future__ import annotations

import pytest

from services.validation.hardened_json import (
    JsonDuplicateKeyError,
    JsonLimits,
    JsonMalformedError,
    JsonRejectedError,
    JsonTooDeepError,
    JsonTooLargeError,
    JsonTooManyValuesError,
    parse_untrusted_json,
)
from services.validation.json_positions import duplicate_member_line, locate_lines


def test_a_plain_document_is_decoded_and_keeps_its_text() -> None:
    data = '{"name": "Jürgen", "kinder": [1, 2.5, true, null, {}]}'.encode()

    document = parse_untrusted_json(data)

    assert document.value == {"name": "Jürgen", "kinder": [1, 2.5, True, None, {}]}
    assert document.text == data.decode()


def test_size_is_checked_first() -> None:
    with pytest.raises(JsonTooLargeError) as caught:
        parse_untrusted_json(b"[" + b"1," * 100 + b"1]", JsonLimits(max_bytes=100))

    assert caught.value.code == "too-large"


def test_depth_limit_counts_arrays_and_objects() -> None:
    limits = JsonLimits(max_depth=3)

    assert parse_untrusted_json(b'[{"a": [1]}]', limits).value == [{"a": [1]}]
    with pytest.raises(JsonTooDeepError):
        parse_untrusted_json(b'[{"a": [[1]]}]', limits)


def test_brackets_inside_strings_do_not_count() -> None:
    data = b'{"a": "[[[[[[[[[[{{{{{{", "b": "\\"]]]]"}'

    assert parse_untrusted_json(data, JsonLimits(max_depth=1)).value["b"] == '"]]]]'


def test_a_depth_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(JsonTooDeepError):
        parse_untrusted_json(b"[" * 1_000_000 + b"]" * 1_000_000)


def test_value_limit() -> None:
    limits = JsonLimits(max_values=10)

    assert len(parse_untrusted_json(b"[" + b"0," * 8 + b"0]", limits).value) == 9
    with pytest.raises(JsonTooManyValuesError) as caught:
        parse_untrusted_json(b"[" + b"0," * 9 + b"0]", limits)
    assert caught.value.code == "too-many-values"


def test_commas_inside_strings_and_empty_containers_do_not_count() -> None:
    limits = JsonLimits(max_values=4)

    assert parse_untrusted_json(b'{"a": ",,,,,,", "b": [], "c": {}}', limits).value["a"] == ",,,,,,"


def test_duplicate_member_names_are_refused_with_their_place() -> None:
    data = b'{\n  "a": 1,\n  "b": {"x": 1,\n        "x": 2}\n}'

    with pytest.raises(JsonDuplicateKeyError) as caught:
        parse_untrusted_json(data)

    assert (caught.value.line, caught.value.path) == (4, "/b/x")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b'{"a": NaN}',
        b"[Infinity]",
        b"[1e400]",
        b"9" * 5000,
        b'"\xff"',
        b'\xef\xbb\xbf{"a": 1}',
        b"{'a': 1}",
    ],
    ids=["empty", "open", "nan", "infinity", "overflow", "digits", "not-utf8", "bom", "quotes"],
)
def test_broken_input_is_malformed(data: bytes) -> None:
    with pytest.raises(JsonMalformedError) as caught:
        parse_untrusted_json(data)

    assert caught.value.code == "malformed"
    assert len(caught.value.message) < 200


def test_every_refusal_is_a_json_rejected_error() -> None:
    kinds = (
        JsonTooLargeError,
        JsonMalformedError,
        JsonTooDeepError,
        JsonTooManyValuesError,
        JsonDuplicateKeyError,
    )

    assert all(issubclass(kind, JsonRejectedError) for kind in kinds)
    assert {kind.code for kind in kinds} == {
        "too-large",
        "malformed",
        "too-deep",
        "too-many-values",
        "duplicate-key",
    }


@pytest.mark.parametrize("limits", [{"max_bytes": 0}, {"max_values": -1}, {"max_depth": 501}])
def test_limits_must_be_positive_and_bounded(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"must|cannot"):
        JsonLimits(**limits)


def test_lines_of_pointers() -> None:
    text = '{\n "a": [\n  1,\n  {"b~/c": "x"}\n ],\n "d": "[{\\"e"\n}'

    lines = locate_lines(text, {("a", "1", "b~/c"), ("d",), ("a", "0"), ("missing",)})

    assert lines == {("a", "1", "b~/c"): 4, ("d",): 6, ("a", "0"): 3}
    assert duplicate_member_line(text) is None
