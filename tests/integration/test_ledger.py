"""The ledger on SQLite and PostgreSQL: save/load, idempotent steps, tamper detection,
HMAC-keyed chains."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from pydantic import SecretStr

from events.chain import GENESIS, ChainLink
from events.chain_keys import ChainKeyError, ChainKeys
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import Status
from events.relay_store import Witness, relay_store
from events.settings import LedgerSettings
from services.ops.actions.verify import verify_submission
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase


def _dispatched(ledger: Ledger) -> uuid.UUID:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    ledger.execute(submission.id, lambda s: s.dispatch("d-1", "jc", "amtsweg.delivery.jc", {}))
    return submission.id


def test_saves_and_loads_the_trail(ledger: Ledger) -> None:
    submission_id = _dispatched(ledger)
    loaded = ledger.get_submission(submission_id)
    assert loaded.status is Status.DISPATCHED
    assert [e.event for e in ledger.trail(submission_id)] == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
    ]
    assert ledger.verify(submission_id) is None


def test_a_repeated_step_appends_nothing(ledger: Ledger) -> None:
    submission_id = _dispatched(ledger)
    assert ledger.execute(submission_id, lambda s: s.validate("cat-1", "urn:x")) is False
    assert len(ledger.trail(submission_id)) == 4


def test_unknown_submission(ledger: Ledger) -> None:
    with pytest.raises(SubmissionNotFoundError):
        ledger.get_submission(uuid.uuid4())


def test_detects_an_edited_event(ledger: Ledger, ledger_settings: LedgerSettings) -> None:
    submission_id = _dispatched(ledger)
    raw = RawDatabase(ledger_settings)
    (state,) = raw.execute(
        f"SELECT state FROM {raw.table} WHERE originator_id = ? AND originator_version = 3",
        (raw.key(submission_id),),
    )[0]
    document = json.loads(bytes(state))
    document["authority_id"] = "someone-else"
    raw.execute(
        f"UPDATE {raw.table} SET state = ? WHERE originator_id = ? AND originator_version = 3",
        (json.dumps(document).encode(), raw.key(submission_id)),
    )
    broken = ledger.verify(submission_id)
    assert broken is not None
    assert broken.version == 3


def test_detects_a_deleted_event(ledger: Ledger, ledger_settings: LedgerSettings) -> None:
    submission_id = _dispatched(ledger)
    raw = RawDatabase(ledger_settings)
    raw.execute(
        f"DELETE FROM {raw.table} WHERE originator_id = ? AND originator_version = 2",
        (raw.key(submission_id),),
    )
    broken = ledger.verify(submission_id)
    assert broken is not None
    assert broken.version == 2


def test_detects_reordered_events(ledger: Ledger, ledger_settings: LedgerSettings) -> None:
    submission_id = _dispatched(ledger)
    raw = RawDatabase(ledger_settings)
    key = raw.key(submission_id)
    for old, new in ((2, 99), (3, 2), (99, 3)):
        raw.execute(
            f"UPDATE {raw.table} SET originator_version = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            (new, key, old),
        )
    assert ledger.verify(submission_id) is not None


def test_detects_a_deleted_tail_against_the_relay_witness(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    submission_id = _dispatched(ledger)
    store = relay_store(ledger_settings)
    last = ledger.trail(submission_id)[-1]
    store.advance("relay", 4, [Witness(str(submission_id), last.version, last.hash)])
    assert verify_submission(ledger, store, submission_id) is None

    raw = RawDatabase(ledger_settings)
    raw.execute(
        f"DELETE FROM {raw.table} WHERE originator_id = ? AND originator_version = 4",
        (raw.key(submission_id),),
    )
    assert ledger.verify(submission_id) is None  # the chain alone cannot see it
    problem = verify_submission(ledger, store, submission_id)
    assert problem is not None
    assert "deleted" in problem


def test_relay_position_is_durable(ledger_settings: LedgerSettings) -> None:
    relay_store(ledger_settings).advance("relay", 42, [])
    assert relay_store(ledger_settings).position("relay") == 42


def _keyed(settings: LedgerSettings, key: str) -> Ledger:
    return Ledger(settings.model_copy(update={"ledger_chain_key": SecretStr(key)}))


def test_ledgers_with_different_chain_keys_do_not_interfere(
    ledger_settings: LedgerSettings,
) -> None:
    first, second = _keyed(ledger_settings, "key-a"), _keyed(ledger_settings, "key-b")
    try:
        mine, theirs = (
            new_submission(chain=ChainKeys(unnamed=b"key-a")),
            new_submission(chain=ChainKeys(unnamed=b"key-b")),
        )
        first.save(mine)
        second.save(theirs)
        first.execute(mine.id, lambda s: s.validate("cat-1", "urn:x"))
        second.execute(theirs.id, lambda s: s.validate("cat-1", "urn:x"))
        first.execute(mine.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))

        assert first.verify(mine.id) is None
        assert second.verify(theirs.id) is None
        assert second.verify(mine.id) is not None  # each chain holds only under its own key
        assert first.verify(theirs.id) is not None
        received = first.trail(mine.id)[0]
        at = datetime.fromisoformat(received.timestamp)
        link = ChainLink(str(mine.id), 1, "Received", at, GENESIS, received.data)
        assert received.hash == link.digest(b"key-a")
        with pytest.raises(ValueError, match="chain key"):
            first.save(new_submission(chain=ChainKeys(unnamed=b"key-b")))
    finally:
        first.close()
        second.close()


def _ring(settings: LedgerSettings, active: str, **keys: str) -> Ledger:
    ring = {kid: SecretStr(key) for kid, key in keys.items()}
    update = {"ledger_chain_keys": ring, "ledger_chain_key_id": active}
    return Ledger(settings.model_copy(update=update))


def test_a_rotated_chain_key_leaves_older_submissions_under_theirs(
    ledger_settings: LedgerSettings,
) -> None:
    before = _ring(ledger_settings, "2026-01", **{"2026-01": "old-key"})
    try:
        older = new_submission(chain=before.chain_keys)
        before.save(older)
    finally:
        before.close()
    after = _ring(ledger_settings, "2026-12", **{"2026-01": "old-key", "2026-12": "new-key"})
    try:
        newer = new_submission(chain=after.chain_keys)
        after.save(newer)
        after.execute(older.id, lambda s: s.validate("cat-1", "urn:x"))  # goes on under its key
        after.execute(newer.id, lambda s: s.validate("cat-1", "urn:x"))

        assert after.trail(older.id)[0].data["chain_kid"] == "2026-01"
        assert after.trail(newer.id)[0].data["chain_kid"] == "2026-12"
        assert after.verify(older.id) is None
        assert after.verify(newer.id) is None
        older_trail = after.trail(older.id)
        validated = older_trail[1]
        link = ChainLink(
            str(older.id),
            2,
            "Validated",
            datetime.fromisoformat(validated.timestamp),
            older_trail[0].hash,
            validated.data,
        )
        assert validated.hash == link.digest(b"old-key")
    finally:
        after.close()
    retired = _ring(ledger_settings, "2026-12", **{"2026-12": "new-key"})
    try:
        assert retired.verify(newer.id) is None
        broken = retired.verify(older.id)
        assert broken is not None
        assert "chain key '2026-01' is not configured" in broken.reason
        with pytest.raises(ChainKeyError, match="2026-01"):
            retired.get_submission(older.id)
    finally:
        retired.close()


def test_a_chain_key_id_is_required_when_several_keys_are_configured(
    ledger_settings: LedgerSettings,
) -> None:
    ring = {"a": SecretStr("key-a"), "b": SecretStr("key-b")}
    with pytest.raises(ChainKeyError, match="AMTSWEG_LEDGER_CHAIN_KEY_ID"):
        ledger_settings.model_copy(update={"ledger_chain_keys": ring}).chain_keys()
    with pytest.raises(ChainKeyError, match="not among"):
        ledger_settings.model_copy(
            update={"ledger_chain_keys": ring, "ledger_chain_key_id": "c"}
        ).chain_keys()
    with pytest.raises(ChainKeyError, match="1-64"):
        ChainKeys({"bad id": b"x"}, "bad id")
