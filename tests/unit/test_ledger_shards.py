"""Which shard holds a submission, the shards' names and where they live, and when a
changed number of shards is refused."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from events.settings import LedgerSettings
from events.shards import mismatch, shard_name, shard_of

EVEN = UUID("00000000-0000-4000-8000-000000000000")  # its 128-bit value is even
ODD = UUID("00000000-0000-4000-8000-000000000001")


@pytest.mark.parametrize(
    ("submission_id", "shards", "expected"),
    [
        (EVEN, 1, 0),
        (ODD, 1, 0),
        (EVEN, 2, 0),
        (ODD, 2, 1),
        (UUID(int=7), 3, 1),
        (UUID(int=2**127 + 5), 4, 1),
    ],
)
def test_the_shard_is_the_id_modulo_the_number_of_shards(
    submission_id: UUID, shards: int, expected: int
) -> None:
    assert shard_of(submission_id, shards) == expected


def test_the_same_id_always_lands_in_the_same_shard() -> None:
    submission_id = uuid4()
    assert len({shard_of(submission_id, 5) for _ in range(10)}) == 1
    assert shard_of(UUID(str(submission_id)), 5) == shard_of(submission_id, 5)


def test_random_ids_fill_every_shard() -> None:
    counts = Counter(shard_of(uuid4(), 3) for _ in range(3000))
    assert set(counts) == {0, 1, 2}
    assert min(counts.values()) > 800


def test_no_shards_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one shard"):
        shard_of(EVEN, 0)


def test_shard_0_keeps_the_names_of_an_unsharded_ledger() -> None:
    assert shard_name("relay", 0) == "relay"
    assert shard_name("relay", 1) == "relay-shard1"
    assert shard_name("ops-submissions", 3) == "ops-submissions-shard3"


def test_a_sqlite_shard_is_a_file_beside_the_first(tmp_path: Path) -> None:
    settings = LedgerSettings(data_dir=tmp_path, ledger_shards=3)
    assert settings.shard(0) is settings
    assert settings.shard(2).sqlite_path() == tmp_path / "ledger.shard2.sqlite3"
    assert settings.shard(2).ledger_shards == 1
    by_url = LedgerSettings(ledger_url="sqlite:///var/x.db", ledger_shards=2)
    assert by_url.shard(1).sqlite_path() == Path("var/x.shard1.db")


def test_a_postgres_shard_is_a_schema_beside_the_first() -> None:
    settings = LedgerSettings(
        ledger_url="postgresql://u:p@db/amtsweg", ledger_schema="ledger", ledger_shards=2
    )
    shard = settings.shard(1)
    assert shard.ledger_schema == "ledger_shard1"
    assert shard.ledger_url == settings.ledger_url
    assert shard.eventsourcing_env()["POSTGRES_SCHEMA"] == "ledger_shard1"


def test_a_shard_outside_the_configured_ones_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        LedgerSettings(data_dir=tmp_path, ledger_shards=2).shard(2)


@pytest.mark.parametrize(
    ("recorded", "configured", "has_events", "fits"),
    [
        (None, 1, False, True),  # a new ledger
        (None, 2, False, True),  # a new ledger, about to record 2
        (None, 1, True, True),  # a ledger that always ran with one shard
        (None, 2, True, False),  # ... opened with two
        (2, 2, True, True),
        (2, 1, True, False),
        (2, 3, False, False),
    ],
)
def test_a_changed_number_of_shards_is_refused(
    recorded: int | None, configured: int, *, has_events: bool, fits: bool
) -> None:
    problem = mismatch(recorded, configured, has_events=has_events)
    assert (problem is None) is fits
    if problem is not None:
        assert "AMTSWEG_LEDGER_SHARDS" in problem
        assert f"is {configured}" in problem
