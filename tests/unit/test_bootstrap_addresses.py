"""A cluster's several bootstrap addresses reach FastStream as several addresses."""

from __future__ import annotations

import pytest

from services.runtime.kafka import bootstrap_addresses


@pytest.mark.parametrize(
    ("configured", "addresses"),
    [
        ("127.0.0.1:9092", ["127.0.0.1:9092"]),
        (
            "kafka-1:9092,kafka-2:9092,kafka-3:9092",
            ["kafka-1:9092", "kafka-2:9092", "kafka-3:9092"],
        ),
        (" kafka-1:9092 , kafka-2:9092,", ["kafka-1:9092", "kafka-2:9092"]),
    ],
)
def test_comma_separated_servers_become_one_address_each(
    configured: str, addresses: list[str]
) -> None:
    assert bootstrap_addresses(configured) == addresses
