"""Fixtures of every test: the ledger, one real Kafka broker and one PostgreSQL database per run.

``ledger`` is the one ledger fixture. It opens ``ledger_settings``: a SQLite file in the
test's folder here; the integration tests override ``ledger_settings`` to run each ledger
test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.broker import BrokerHandle, kafka_broker
from events.checkpoint_keys import create_key
from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import LocalKeyFile, Vault, local_vault
from harness import postgres
from services.fitconnect.certificates import InstanceCA
from services.fitconnect.set_keys import create_key_file as create_set_key_file
from services.fitconnect.token_keys import create_key_file as create_token_key_file
from tests.support.authority import amtsweg_signing_keys

SIGNING_KEYS_ENV = "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE"
TOKEN_KEYS_ENV = "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE"
SET_KEYS_ENV = "AMTSWEG_FITCONNECT_SET_KEYS_FILE"
CA_ENV = ("AMTSWEG_FITCONNECT_CA_CERT_FILE", "AMTSWEG_FITCONNECT_CA_KEY_FILE")
POSTGRES_DSN_ENV = "AMTSWEG_TEST_POSTGRES_DSN"
"""Set to use an existing PostgreSQL database instead of a throwaway cluster."""


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` (read by the processes and CLI commands tests start, as
    production would), and what was there before afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def key_encryption_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One key-encryption key for the run, as ``AMTSWEG_KEK_FILE`` (the processes and CLI
    commands a test starts read it, as production would)."""
    path = tmp_path_factory.mktemp("kek") / "kek.json"
    LocalKeyFile.create(path)
    with _environment({"AMTSWEG_KEK_FILE": str(path)}):
        yield path


@pytest.fixture(scope="session", autouse=True)
def envelope_signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Amtsweg's envelope signing keys for the run, as ``AMTSWEG_DELIVERY_SIGNING_KEYS_FILE``
    (the test signing key set, so that tests can verify with its public half)."""
    path = tmp_path_factory.mktemp("signing") / "envelope-signing.jwks.json"
    path.write_text(json.dumps(amtsweg_signing_keys()))
    with _environment({SIGNING_KEYS_ENV: str(path)}):
        yield path


@pytest.fixture(scope="session", autouse=True)
def checkpoint_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A checkpoint signing key, its public key set and a checkpoint directory for the run
    (``AMTSWEG_CHECKPOINT_…``), so the processes a test starts write checkpoints as
    production would."""
    folder = tmp_path_factory.mktemp("checkpoints")
    create_key(folder / "signing.jwk.json", folder / "public.jwks.json")
    values = {
        "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE": str(folder / "signing.jwk.json"),
        "AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE": str(folder / "public.jwks.json"),
        "AMTSWEG_CHECKPOINT_DIR": str(folder / "written"),
    }
    with _environment(values):
        yield folder


@pytest.fixture(scope="session", autouse=True)
def fit_connect_token_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The keys that sign FIT-Connect access tokens, as ``AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE``."""
    path = tmp_path_factory.mktemp("token-keys") / "fit-connect-token.jwks.json"
    create_token_key_file(path)
    with _environment({TOKEN_KEYS_ENV: str(path)}):
        yield path


@pytest.fixture(scope="session", autouse=True)
def fit_connect_set_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The keys that sign FIT-Connect event tokens, as ``AMTSWEG_FITCONNECT_SET_KEYS_FILE``."""
    path = tmp_path_factory.mktemp("set-keys") / "fit-connect-set.jwks.json"
    create_set_key_file(path)
    with _environment({SET_KEYS_ENV: str(path)}):
        yield path


@pytest.fixture(scope="session", autouse=True)
def fit_connect_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The instance CA of the FIT-Connect destinations' keys, as
    ``AMTSWEG_FITCONNECT_CA_CERT_FILE`` and ``…_CA_KEY_FILE`` (PEM)."""
    folder = tmp_path_factory.mktemp("fit-connect-ca")
    ca = InstanceCA.generate().document()
    cert, key = folder / "ca.pem", folder / "ca.key.pem"
    cert.write_text(ca["certificate"])
    key.write_text(ca["key"])
    key.chmod(0o600)
    with _environment({CA_ENV[0]: str(cert), CA_ENV[1]: str(key)}):
        yield cert, key


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    """Yield one real Kafka broker for the whole session (``KAFKA_BOOTSTRAP_SERVERS`` first)."""
    with kafka_broker(tmp_path_factory.mktemp("broker")) as handle:
        yield handle


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """Yield a ``postgresql://`` DSN: ``$AMTSWEG_TEST_POSTGRES_DSN`` or a throwaway cluster."""
    configured = os.environ.get(POSTGRES_DSN_ENV, "").strip()
    if configured:
        yield configured
        return
    try:
        postgres.find_bindir()
    except postgres.PostgresUnavailableError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{error} on this CI runner: install the 'postgresql' package "
                f"(./dev test does) or set {POSTGRES_DSN_ENV}",
                pytrace=False,
            )
        pytest.fail(
            f"{error}: run the tests with ./dev test (it installs PostgreSQL) "
            f"or set {POSTGRES_DSN_ENV} to an existing database",
            pytrace=False,
        )
    with postgres.throwaway_postgres() as dsn:
        yield dsn


@pytest.fixture
def ledger_settings(tmp_path: Path) -> LedgerSettings:
    """A SQLite ledger in the test's folder."""
    return LedgerSettings(data_dir=tmp_path)


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    """A vault (key store, KEK, blobs) in the test's folder."""
    opened = local_vault(tmp_path / "vault")
    yield opened
    opened.keys.close()


@pytest.fixture
def ledger(ledger_settings: LedgerSettings) -> Iterator[Ledger]:
    """The ledger of ``ledger_settings``, closed after the test."""
    app = Ledger(ledger_settings)
    yield app
    app.close()
