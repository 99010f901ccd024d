"""The destinations' key pairs: made once, sealed at rest, rotated without losing old keys."""

from __future__ import annotations

import base64
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwe
from joserfc.jwk import RSAKey

from events.vault import KeyEncryptionKeyError, LocalKeyFile
from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.key_table import KeyTable

DESTINATION = uuid.UUID("7881dba9-4055-4854-8b6d-11ea5b7f3047")
ALGORITHMS = ["RSA-OAEP-256", "A256GCM"]
TEST_BITS = 2048  # the store does not care; 4096 is the settings' floor (component tests)


class Material:
    """Key pairs certified by a test CA; counts how many were made."""

    def __init__(self) -> None:
        self.ca = InstanceCA.generate()
        self.made = 0
        self._lock = threading.Lock()

    def __call__(self, destination: uuid.UUID) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
        with self._lock:
            self.made += 1
        private = rsa.generate_private_key(65537, TEST_BITS)
        return private, self.ca.certify(private.public_key(), destination, days=30)


@pytest.fixture
def material() -> Material:
    return Material()


@pytest.fixture
def kek(tmp_path: Path) -> LocalKeyFile:
    return LocalKeyFile.create(tmp_path / "kek.json")


def keys_at(path: Path, kek: LocalKeyFile, material: Material) -> DestinationKeys:
    """One process's view of the key table at ``path``."""
    return DestinationKeys(KeyTable.sqlite(path), kek, material, x5c_of)


def test_a_destination_key_is_made_once_and_every_process_publishes_it(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    path = tmp_path / "keys.sqlite3"
    first = keys_at(path, kek, material).published(DESTINATION)
    again = keys_at(path, kek, material).published(DESTINATION)

    assert again.kid == first.kid
    assert material.made == 1
    jwk = first.jwk
    assert jwk["kty"] == "RSA"
    assert jwk["key_ops"] == ["wrapKey"]
    assert jwk["alg"] == "RSA-OAEP-256"
    assert jwk["kid"] == first.kid
    assert "d" not in jwk
    assert len(jwk["kid"]) == 36


def test_processes_asking_at_once_make_one_key(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    path = tmp_path / "keys.sqlite3"
    processes = [keys_at(path, kek, material) for _ in range(4)]
    kids: list[str] = []

    def ask(keys: DestinationKeys) -> None:
        kids.append(keys.published(DESTINATION).kid)

    threads = [threading.Thread(target=ask, args=(keys,)) for keys in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert material.made == 1
    assert len(set(kids)) == 1
    assert len(kids) == 4


def test_the_certificate_chain_certifies_the_published_key(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    key = keys_at(tmp_path / "keys.sqlite3", kek, material).published(DESTINATION)
    leaf_der, ca_der = (base64.b64decode(cert) for cert in key.jwk["x5c"])
    leaf = x509.load_der_x509_certificate(leaf_der)
    ca = x509.load_der_x509_certificate(ca_der)

    assert leaf.issuer == ca.subject == material.ca.certificate.subject
    leaf.verify_directly_issued_by(ca)
    public = leaf.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    published = RSAKey.import_key(key.jwk)
    assert published.as_dict(private=False)["n"] == RSAKey.import_key(public).as_dict()["n"]


def test_after_a_rotation_the_new_key_is_published_and_the_old_one_still_decrypts(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    keys = keys_at(tmp_path / "keys.sqlite3", kek, material)
    old = keys.published(DESTINATION)
    in_flight = jwe.encrypt_compact(
        {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": old.kid},
        b"an application encrypted before the rotation",
        RSAKey.import_key({k: v for k, v in old.jwk.items() if k != "key_ops"}),
        algorithms=ALGORITHMS,
    )

    new = keys.rotate(DESTINATION)

    assert new.kid != old.kid
    assert keys.published(DESTINATION).kid == new.kid
    assert keys_at(tmp_path / "keys.sqlite3", kek, material).published(DESTINATION).kid == new.kid
    assert keys.find(DESTINATION, old.kid) == old
    for name in (old.kid, old.thumbprint):
        private = keys_at(tmp_path / "keys.sqlite3", kek, material).private_key(DESTINATION, name)
        assert private is not None
        opened = jwe.decrypt_compact(in_flight, private, algorithms=ALGORITHMS)
        assert opened.plaintext == b"an application encrypted before the rotation"


def test_a_key_is_only_its_own_destinations(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    keys = keys_at(tmp_path / "keys.sqlite3", kek, material)
    key = keys.published(DESTINATION)
    other = uuid.uuid4()

    assert keys.find(other, key.kid) is None
    assert keys.private_key(other, key.kid) is None
    assert keys.private_key(DESTINATION, "no-such-key-id") is None


def test_private_keys_are_sealed_at_rest_and_open_only_with_the_kek(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    path = tmp_path / "keys.sqlite3"
    key = keys_at(path, kek, material).published(DESTINATION)
    private = keys_at(path, kek, material).private_key(DESTINATION, key.kid)
    assert private is not None
    secret_d = str(private.as_dict(private=True)["d"])

    with sqlite3.connect(path) as database:
        stored = b"".join(
            bytes(value) if isinstance(value, bytes) else str(value).encode()
            for row in database.execute("SELECT * FROM amtsweg_fitconnect_keys")
            for value in row
            if value is not None
        )
    assert secret_d.encode() not in stored
    assert b'"d"' not in stored

    other_kek = LocalKeyFile.create(tmp_path / "other-kek.json")
    with pytest.raises(KeyEncryptionKeyError):
        keys_at(path, other_kek, material).private_key(DESTINATION, key.kid)


def test_a_claim_left_by_a_dead_process_is_taken_over(
    tmp_path: Path, kek: LocalKeyFile, material: Material
) -> None:
    path = tmp_path / "keys.sqlite3"
    KeyTable.sqlite(path)
    with sqlite3.connect(path) as database:
        database.execute(
            "INSERT INTO amtsweg_fitconnect_keys (destination_id, generation, claim, claimed_at)"
            " VALUES (?, 1, 'dead', '2020-01-01T00:00:00+00:00')",
            (str(DESTINATION),),
        )

    key = keys_at(path, kek, material).published(DESTINATION)

    assert key.generation == 1
    assert material.made == 1
