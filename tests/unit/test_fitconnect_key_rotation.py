"""Rotating and retiring a destination's keys without losing submissions in flight."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from events.vault import LocalKeyFile
from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.destination_keys import DestinationKeyError, DestinationKeys
from services.fitconnect.key_rotation import GRACE, KeyRotation, RetirementRefusedError
from services.fitconnect.key_table import KeyTable
from services.fitconnect.submission_table import Announcement, AuthenticationTags, SubmissionTable

DESTINATION = uuid.UUID("7881dba9-4055-4854-8b6d-11ea5b7f3047")
OTHER = uuid.UUID("5f0e3d5c-1c1e-4f55-9a43-30e1d0d2c0aa")
CA = InstanceCA.generate()


def _material(destination: uuid.UUID) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
    private = rsa.generate_private_key(65537, 2048)  # the store does not care about the size
    return private, CA.certify(private.public_key(), destination, days=30)


class Later:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def kek(tmp_path: Path) -> LocalKeyFile:
    return LocalKeyFile.create(tmp_path / "kek.json")


def _keys(tmp_path: Path, kek: LocalKeyFile) -> DestinationKeys:
    """One process's view of the key table."""
    return DestinationKeys(KeyTable.sqlite(tmp_path / "keys.sqlite3"), kek, _material, x5c_of)


def _announce(table: SubmissionTable, destination: uuid.UUID = DESTINATION) -> str:
    submission = str(uuid.uuid4())
    table.announce(
        Announcement(submission, str(destination), "portal-a", str(uuid.uuid4()), {}, (), None)
    )
    return submission


def test_a_key_in_flight_is_kept_until_its_submissions_are_submitted(
    tmp_path: Path, kek: LocalKeyFile
) -> None:
    keys = _keys(tmp_path, kek)
    table = SubmissionTable.sqlite(tmp_path / "keys.sqlite3")
    clock = Later()
    rotation = KeyRotation(keys, table, clock)
    old = keys.published(DESTINATION)
    in_flight = _announce(table)
    _announce(table, OTHER)  # another destination's: not this key's concern
    new = rotation.rotate(DESTINATION)

    states = rotation.states(DESTINATION)
    assert [s.key.kid for s in states] == [new.kid, old.kid]
    assert [s.key.published for s in states] == [True, False]
    assert states[1].key.superseded_at == states[0].key.created_at
    assert states[1].in_flight == (in_flight,)
    assert keys.published(DESTINATION).kid == new.kid
    assert keys.private_key(DESTINATION, old.thumbprint) is not None  # still decrypts

    with pytest.raises(RetirementRefusedError) as refused:
        rotation.retire(DESTINATION, old.kid)
    assert refused.value.in_flight == (in_flight,)
    assert len(refused.value.reasons) == 2  # just superseded, and a submission in flight
    clock.offset = GRACE + timedelta(seconds=1)
    with pytest.raises(RetirementRefusedError, match="1 submission"):
        rotation.retire(DESTINATION, old.kid)
    table.mark_submitted(in_flight, {}, AuthenticationTags("tag", None, {}))
    late = _announce(table)  # within the grace: other processes may still publish the old key
    assert rotation.states(DESTINATION)[1].in_flight == (late,)
    with sqlite3.connect(tmp_path / "keys.sqlite3") as raw:  # as if announced a while later
        raw.execute(
            "UPDATE amtsweg_fitconnect_submissions SET created_at = ? WHERE submission_id = ?",
            (clock().isoformat(), late),
        )
    assert rotation.states(DESTINATION)[1].in_flight == ()
    assert rotation.states(DESTINATION)[0].in_flight == (late,)

    other_process = _keys(tmp_path, kek)
    assert other_process.private_key(DESTINATION, old.kid) is not None  # cached there
    retired = rotation.retire(DESTINATION, old.thumbprint)
    assert (retired.kid, retired.retired, retired.warnings) == (old.kid, True, ())
    assert rotation.retire(DESTINATION, old.kid).retired is False
    assert other_process.private_key(DESTINATION, old.kid) is None  # retired everywhere
    assert other_process.private_key(DESTINATION, old.thumbprint) is None
    assert other_process.find(DESTINATION, old.kid) is None
    assert other_process.private_key(DESTINATION, new.kid) is not None
    assert rotation.states(DESTINATION)[1].key.retired_at is not None


def test_the_published_or_an_unknown_key_is_never_retired_and_force_warns(
    tmp_path: Path, kek: LocalKeyFile
) -> None:
    keys = _keys(tmp_path, kek)
    table = SubmissionTable.sqlite(tmp_path / "keys.sqlite3")
    rotation = KeyRotation(keys, table)
    published = keys.published(DESTINATION)
    with pytest.raises(DestinationKeyError, match="published key"):
        rotation.retire(DESTINATION, published.kid, force=True)
    with pytest.raises(DestinationKeyError, match="has no key"):
        rotation.retire(DESTINATION, str(uuid.uuid4()), force=True)
    with pytest.raises(DestinationKeyError, match="has no key"):
        rotation.retire(OTHER, published.kid, force=True)  # another destination's key

    waiting = _announce(table)
    rotation.rotate(DESTINATION)
    forced = rotation.retire(DESTINATION, published.kid, force=True)
    assert forced.retired is True
    assert forced.in_flight == (waiting,)
    assert len(forced.warnings) == 2
    assert keys.private_key(DESTINATION, published.kid) is None
