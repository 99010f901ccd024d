"""A ledger of two shards on SQLite files and on PostgreSQL schemas: each submission in its
shard, read, changed and verified through the one facade; the read models and the relays
follow every shard; a changed number of shards is refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.shard_relay_stores import relay_stores
from events.sharded_ledger import open_ledger
from events.shards import LedgerShardsError, shard_of
from events.vault import local_vault
from services.delivery.projector import DeliveryProjector
from services.delivery.store import delivery_store
from services.ops.actions.verify import check_submission
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.overview.store import overview_store
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase

COUNT = 12


@pytest.fixture
def sharded(ledger_settings: LedgerSettings) -> Iterator[LedgerSettings]:
    """``ledger_settings`` with two shards; on PostgreSQL, shard 1's schema dropped after."""
    settings = ledger_settings.model_copy(update={"ledger_shards": 2})
    yield settings
    if settings.sqlite_path() is None:
        assert settings.ledger_url is not None
        with psycopg.connect(settings.ledger_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {settings.shard(1).ledger_schema} CASCADE")


@pytest.fixture
def ledger(sharded: LedgerSettings) -> Iterator[Ledger]:
    opened = open_ledger(sharded)
    yield opened
    opened.close()


def _dispatched(ledger: Ledger, count: int = COUNT) -> list[uuid.UUID]:
    ids = []
    for _ in range(count):
        submission = new_submission()
        ledger.save(submission)
        ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
        ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
        loaded = ledger.get_submission(submission.id)
        loaded.dispatch(f"d-{submission.id}", "jc", "amtsweg.delivery.jc", {})
        ledger.save(loaded)
        ids.append(submission.id)
    return ids


def test_each_submission_is_stored_in_its_shard_alone(
    ledger: Ledger, sharded: LedgerSettings
) -> None:
    ids = _dispatched(ledger)
    in_second = {i for i in ids if shard_of(i, 2) == 1}
    assert in_second, "twelve random ids all in shard 0: run again"
    assert in_second != set(ids)
    for submission_id in ids:
        assert ledger.exists(submission_id)
        assert ledger.shards[1].exists(submission_id) is (submission_id in in_second)
        assert [e.event for e in ledger.trail(submission_id)][-1] == "Dispatched"
        assert ledger.verify(submission_id) is None
    assert set(ledger.submission_ids()) == set(ids)
    assert _stored_ids(sharded.shard(0)) == set(ids) - in_second
    assert _stored_ids(sharded.shard(1)) == in_second


def _stored_ids(settings: LedgerSettings) -> set[uuid.UUID]:
    raw = RawDatabase(settings)
    rows = raw.execute(f"SELECT DISTINCT originator_id FROM {raw.table}")
    return {uuid.UUID(str(row[0])) for row in rows}


def test_an_edit_in_shard_1_is_found_through_the_facade(
    ledger: Ledger, sharded: LedgerSettings
) -> None:
    ids = _dispatched(ledger)
    target = next(i for i in ids if shard_of(i, 2) == 1)
    raw = RawDatabase(sharded.shard(1))
    (state,) = raw.execute(
        f"SELECT state FROM {raw.table} WHERE originator_id = ? AND originator_version = 3",
        (raw.key(target),),
    )[0]
    document = json.loads(bytes(state))
    document["authority_id"] = "someone-else"
    raw.execute(
        f"UPDATE {raw.table} SET state = ? WHERE originator_id = ? AND originator_version = 3",
        (json.dumps(document).encode(), raw.key(target)),
    )
    broken = check_submission(ledger, relay_stores(ledger), target)
    assert broken is not None
    assert broken.version == 3
    assert all(ledger.verify(i) is None for i in ids if i != target)


def test_the_read_models_follow_every_shard(ledger: Ledger, sharded: LedgerSettings) -> None:
    ids = _dispatched(ledger)
    overview = OverviewProjector(ledger, overview_store(sharded))
    heads = [int(shard.recorder.max_notification_id() or 0) for shard in ledger.shards]
    assert overview.catch_up() == 4 * COUNT
    assert overview.head() == sum(heads)
    rows = overview.store.select(Filters(), limit=100)
    assert {uuid.UUID(row.submission_id) for row in rows} == set(ids)
    assert overview.store.count(Filters(status="dispatched")) == COUNT
    assert overview.store.position() == heads[0]
    assert overview.store.position("ops-submissions-shard1") == heads[1]
    deliveries = DeliveryProjector(ledger, delivery_store(sharded), lambda _: False)
    assert deliveries.catch_up() == 4 * COUNT
    assert deliveries.store.position("deliveries-shard1") == heads[1]
    assert len(deliveries.store.recent(100)) == COUNT
    assert overview.rebuild() == deliveries.rebuild() == 4 * COUNT
    assert overview.store.count(Filters()) == COUNT


def test_an_unsharded_ledger_records_nothing_and_refuses_a_second_shard(
    ledger_settings: LedgerSettings,
) -> None:
    one = open_ledger(ledger_settings)
    try:
        _dispatched(one, 1)
    finally:
        one.close()
    raw = RawDatabase(ledger_settings)
    lookup = (
        "SELECT name FROM sqlite_master WHERE name = 'amtsweg_ledger_shards'"
        if ledger_settings.sqlite_path()
        else "SELECT to_regclass('amtsweg_ledger_shards') WHERE to_regclass("
        "'amtsweg_ledger_shards') IS NOT NULL"
    )
    assert raw.execute(lookup) == []
    two = ledger_settings.model_copy(update={"ledger_shards": 2})
    with pytest.raises(LedgerShardsError, match="AMTSWEG_LEDGER_SHARDS is 2, but this ledger"):
        open_ledger(two)


@pytest.mark.parametrize("other", [1, 3])
def test_a_two_shard_ledger_refuses_another_number(
    ledger: Ledger, sharded: LedgerSettings, other: int
) -> None:
    assert ledger.shards  # opened (and recorded) with two
    with pytest.raises(LedgerShardsError, match="written with 2 shard"):
        open_ledger(sharded.model_copy(update={"ledger_shards": other}))
    reopened = open_ledger(sharded)
    assert len(reopened.shards) == 2
    reopened.close()


def test_the_vault_is_shared_by_the_shards(ledger: Ledger, tmp_path: Path) -> None:
    vault = local_vault(tmp_path / "vault")
    try:
        submission = new_submission(uuid.UUID(int=1))  # shard 1 of 2
        ledger.save(submission)
        assert ledger.shard_for(submission.id) is ledger.shards[1]
        assert ledger.get_submission(submission.id).id == submission.id
    finally:
        vault.keys.close()
