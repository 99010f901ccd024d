"""Every hostile shape at 10 KB, 100 KB and 1 MB gets its answer: refused or accepted.

Under a backtracking engine or a restarting scanner the 1 MB inputs would run for hours
(the 100 KB ones for minutes), so these tests finish only if parsing is linear; they
assert the outcome, and ``amtsweg bench parsing`` prints the times.
"""

from __future__ import annotations

import pytest

from harness.bench.hostile import SHAPES, SIZES, Shape

EXPECTED = {
    "metadata-pattern": dict.fromkeys(SIZES, "rejected:pattern"),
    "schema-nested-quantifiers": dict.fromkeys(SIZES, "rejected:additionalProperties,pattern"),
    "json-unterminated-strings": dict.fromkeys(SIZES, "rejected:json-malformed"),
    "json-deep": dict.fromkeys(SIZES, "rejected:json-too-deep"),
    "json-long-string": dict.fromkeys(SIZES, "accepted"),
    "xml-deep": dict.fromkeys(SIZES, "rejected:xml-too-deep"),
    "xml-long-attribute": dict.fromkeys(SIZES, "accepted"),
    "xml-many-elements": {
        10_000: "accepted:2499",
        100_000: "accepted:24999",
        1_000_000: "rejected:xml-too-many-nodes",
    },
    "xml-utf16-many-elements": {
        10_000: "accepted:1249",
        100_000: "accepted:12499",
        1_000_000: "rejected:xml-too-many-nodes",
    },
    "parser-message-redaction": dict.fromkeys(SIZES, "withheld"),
}


def test_every_shape_has_its_expectations() -> None:
    assert {shape.name for shape in SHAPES} == set(EXPECTED)


@pytest.mark.parametrize("size", SIZES, ids=["10KB", "100KB", "1MB"])
@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_a_hostile_input_gets_its_outcome(shape: Shape, size: int) -> None:
    assert shape.run(shape.build(size)) == EXPECTED[shape.name][size]
