"""The FIT-Connect tables (destination keys, retirements, announced submissions, callbacks)
on SQLite and on PostgreSQL, placed where the composition root puts them: beside the key
store."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables
from events.vault import LocalKeyFile, VaultSettings
from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.key_rotation import KeyRotation, RetirementRefusedError
from services.fitconnect.key_table import Completion
from services.fitconnect.submission_table import (
    Announcement,
    AuthenticationTags,
    Upload,
)
from services.ops.app.fitconnect_wiring import (
    callback_table,
    key_table,
    submission_table,
    table_place,
)
from services.ops.app.settings import Settings

DESTINATION = uuid.UUID("7881dba9-4055-4854-8b6d-11ea5b7f3047")
CA = InstanceCA.generate()


def _settings(ledger_settings: LedgerSettings, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings.from_environment(), ledger=ledger_settings, vault=VaultSettings(data_dir=tmp_path)
    )


def _material(destination: uuid.UUID) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
    private = rsa.generate_private_key(65537, 2048)  # the tables do not care about the size
    return private, CA.certify(private.public_key(), destination, days=30)


def _tables_in(ledger_settings: LedgerSettings) -> set[str]:
    """The FIT-Connect tables in the ledger's PostgreSQL schema."""
    assert ledger_settings.ledger_url is not None
    with psycopg.connect(ledger_settings.ledger_url) as connection:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (ledger_settings.ledger_schema,),
        ).fetchall()
    return {row[0] for row in rows if row[0].startswith("amtsweg_fitconnect")}


def test_the_tables_are_where_the_key_store_is(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    settings = _settings(ledger_settings, tmp_path)
    keys, submissions = key_table(settings), submission_table(settings)()
    place = table_place(settings)
    if ledger_settings.sqlite_path() is not None:
        assert place.sqlite == tmp_path / "keys.sqlite3"
        assert isinstance(keys._db, SQLiteTables)
        assert isinstance(submissions._db, SQLiteTables)
        assert place.sqlite.exists()
    else:
        assert (place.conninfo, place.schema) == (
            ledger_settings.ledger_url,
            ledger_settings.ledger_schema,
        )
        assert isinstance(keys._db, PostgresTables)
        assert isinstance(submissions._db, PostgresTables)
        callbacks = callback_table(settings, lambda: LocalKeyFile.create(tmp_path / "kek.json"))()
        assert isinstance(callbacks._db, PostgresTables)
        assert _tables_in(ledger_settings) == {
            "amtsweg_fitconnect_keys",
            "amtsweg_fitconnect_key_retirements",
            "amtsweg_fitconnect_submissions",
            "amtsweg_fitconnect_attachments",
            "amtsweg_fitconnect_callbacks",
            "amtsweg_fitconnect_contacts",
            "amtsweg_fitconnect_callback_outbox",
            "amtsweg_fitconnect_callback_position",
        }
    own = dataclasses.replace(
        settings,
        vault=VaultSettings(
            data_dir=tmp_path, keystore_url=f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
        ),
    )
    assert table_place(own).sqlite == tmp_path / "elsewhere.sqlite3"


def test_key_rows_claim_complete_and_retire(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    table = key_table(_settings(ledger_settings, tmp_path))
    name = str(DESTINATION)
    assert table.claim(name, 1, "claim-a") is True
    assert table.claim(name, 1, "claim-b") is False
    assert table.take_over(name, 1, "claim-x", "claim-b") is False  # not the claim that is there
    assert table.take_over(name, 1, "claim-a", "claim-b") is True
    done = Completion("kid-1", "thumb-1", "{}", "kek-1", b"\x00wrapped\xff", b"\x01sealed\xfe")
    assert table.complete(name, 1, "claim-a", done) is False  # taken over meanwhile
    assert table.complete(name, 1, "claim-b", done) is True
    (row,) = table.rows(name)
    assert (row.generation, row.kid, row.public_jwk, row.retired_at) == (1, "kid-1", "{}", None)
    assert row.created_at is not None
    secret = table.secret(name, "thumb-1")
    assert secret is not None
    assert (secret.wrapped_key, secret.sealed_private) == (b"\x00wrapped\xff", b"\x01sealed\xfe")
    assert table.usable(name, "kid-1") == "kid-1"
    assert table.usable(name, "thumb-1") == "kid-1"
    assert table.retire(name, "kid-1") is True
    assert table.retire(name, "kid-1") is False
    assert table.usable(name, "kid-1") is None
    assert table.secret(name, "kid-1") is None
    assert table.rows(name)[0].retired_at is not None
    assert table.rows(str(uuid.uuid4())) == []


def test_processes_make_one_key_and_a_rotation_keeps_the_old_one_until_retired(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    settings = _settings(ledger_settings, tmp_path)
    kek = LocalKeyFile.create(tmp_path / "kek.json")
    processes = [DestinationKeys(key_table(settings), kek, _material, x5c_of) for _ in range(3)]
    kids: list[str] = []
    threads = [
        threading.Thread(target=lambda p=p: kids.append(p.published(DESTINATION).kid))
        for p in processes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(kids)) == 1
    old = processes[0].published(DESTINATION)

    submissions = submission_table(settings)()
    waiting = str(uuid.uuid4())
    submissions.announce(
        Announcement(waiting, str(DESTINATION), "portal-a", str(uuid.uuid4()), {}, (), None)
    )
    rotation = KeyRotation(processes[1], submissions)
    new = rotation.rotate(DESTINATION)
    assert processes[2].private_key(DESTINATION, old.thumbprint) is not None
    assert [s.in_flight for s in rotation.states(DESTINATION)] == [(waiting,), (waiting,)]
    with pytest.raises(RetirementRefusedError):
        rotation.retire(DESTINATION, old.kid)
    assert rotation.retire(DESTINATION, old.kid, force=True).retired is True
    assert processes[2].private_key(DESTINATION, old.kid) is None
    assert processes[2].find(DESTINATION, old.kid) is None
    assert processes[2].private_key(DESTINATION, new.kid) is not None


def test_announced_submissions_uploads_and_one_submit(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    table = submission_table(_settings(ledger_settings, tmp_path))()
    case = str(uuid.uuid4())
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    service = {"name": "Antrag", "identifier": "urn:de:fim:leika:leistung:99900000000102"}
    for submission in (first, second):
        table.announce(
            Announcement(submission, str(DESTINATION), "portal-a", case, service, ("a-1",), None)
        )
    table.upload(first, Upload("a-1", f"{first}/blob-1", 10))
    table.upload(first, Upload("a-1", f"{first}/blob-2", 20))  # uploaded again: replaced
    assert table.uploads(first) == {"a-1": Upload("a-1", f"{first}/blob-2", 20)}
    assert table.uploads(second) == {}
    announced = table.get(first)
    assert announced is not None
    assert (announced.case_id, announced.service_type, announced.announced) == (
        case,
        service,
        ("a-1",),
    )
    assert [s for s, _ in table.open_of_destination(str(DESTINATION))] == [first, second]
    tags = AuthenticationTags("m", "d", {"a-1": "t"})
    assert table.mark_submitted(first, {"submissionId": first}, tags) is True
    assert table.mark_submitted(first, {"submissionId": "other"}, tags) is False
    submitted = table.get(first)
    assert submitted is not None
    assert submitted.submitted == {"submissionId": first}
    assert submitted.authentication_tags == tags
    assert [a.submission_id for a in table.of_case(case)] == [first, second]
    assert [s for s, _ in table.open_of_destination(str(DESTINATION))] == [second]
    assert table.get(str(uuid.uuid4())) is None
