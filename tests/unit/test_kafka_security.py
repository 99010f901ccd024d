"""Kafka security settings: what each protocol gives aiokafka and FastStream; what is refused."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram512

from contracts.kafka_security import KafkaSecurity, KafkaSecurityError
from services.ops.app.settings import Settings
from services.runtime.kafka import faststream_security

SCRAM = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "amtsweg",
    "KAFKA_SASL_PASSWORD": "s3cret-of-amtsweg",
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SCRAM, "KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AMTSWEG_DEVELOPMENT", raising=False)
    monkeypatch.delenv("AMTSWEG_KAFKA_INTAKE_SHARED_TOPIC", raising=False)


def _environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_plaintext_by_default_adds_no_client_options() -> None:
    security = KafkaSecurity.from_environment()

    assert security.client_options() == {}
    assert faststream_security(security) is None


def test_scram_over_tls_gives_aiokafka_a_verifying_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _environment(monkeypatch, **SCRAM)

    options = KafkaSecurity.from_environment().client_options()

    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "amtsweg"
    assert options["sasl_plain_password"] == "s3cret-of-amtsweg"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_faststream_gets_the_same_mechanism_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, **SCRAM)

    security = faststream_security(KafkaSecurity.from_environment())

    assert isinstance(security, SASLScram512)
    assert security.username == "amtsweg"
    assert security.use_ssl
    assert security.ssl_context is not None


def test_plain_over_tls_and_tls_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, **(SCRAM | {"KAFKA_SASL_MECHANISM": "PLAIN"}))
    plain = faststream_security(KafkaSecurity.from_environment())
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    for name in ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name)
    tls = faststream_security(KafkaSecurity.from_environment())

    assert isinstance(plain, SASLPlaintext)
    assert plain.use_ssl
    assert type(tls) is BaseSecurity
    assert tls.use_ssl


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"KAFKA_SASL_MECHANISM": None}, "needs KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SASL_PASSWORD": None}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM: Input should be"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"},
            "PLAIN sends the password in clear",
        ),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "does not use SASL"),
        ({"KAFKA_SSL_CAFILE": "no-such-ca.pem"}, "KAFKA_SSL_CAFILE: no such file"),
    ],
)
def test_contradictions_are_refused_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str | None], says: str
) -> None:
    _environment(monkeypatch, **SCRAM)
    for name, value in changes.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)

    with pytest.raises(KafkaSecurityError, match=says) as refused:
        KafkaSecurity.from_environment()

    assert "s3cret-of-amtsweg" not in str(refused.value)


def test_plain_without_tls_only_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(
        monkeypatch,
        **(SCRAM | {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"}),
        AMTSWEG_DEVELOPMENT="true",
    )

    options = KafkaSecurity.from_environment().client_options()

    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert "ssl_context" not in options


def test_certificate_files_need_tls_and_a_key_needs_its_certificate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "client.key"
    key.write_text("not read before a connection")
    _environment(monkeypatch, KAFKA_SSL_KEYFILE=str(key))

    with pytest.raises(KafkaSecurityError) as refused:
        KafkaSecurity.from_environment()

    assert "has no TLS" in str(refused.value)
    assert "KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE" in str(refused.value)


def test_plaintext_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, **SCRAM)

    assert KafkaSecurity.plaintext().client_options() == {}


@pytest.mark.parametrize(
    ("development", "shared", "accepted"),
    [
        ("false", None, False),
        ("true", None, True),
        ("true", "false", False),
        ("false", "true", True),
    ],
)
def test_the_shared_intake_topic_is_accepted_in_development_or_when_set(
    monkeypatch: pytest.MonkeyPatch, development: str, shared: str | None, accepted: bool
) -> None:
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", development)
    if shared is not None:
        monkeypatch.setenv("AMTSWEG_KAFKA_INTAKE_SHARED_TOPIC", shared)

    assert Settings.from_environment().intake.kafka_intake_shared_topic is accepted
