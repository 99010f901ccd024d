"""How every Kafka client of Amtsweg authenticates and encrypts: one settings class.

The relay, the workers, the Kafka intake, topic setup, the dead-letter tools, the
metrics and the reference receiver all connect with these settings, read from the
environment (``KAFKA_…``, as ``KAFKA_BOOTSTRAP_SERVERS``). The protocols are Kafka's own:

- ``PLAINTEXT`` (the default): neither TLS nor authentication, for a local broker;
- ``SSL``: TLS; with ``KAFKA_SSL_CERTFILE`` (and ``KAFKA_SSL_KEYFILE``) the client shows
  a certificate (mTLS), and the broker takes the principal from it;
- ``SASL_SSL``: TLS plus a user name and password, ``SCRAM-SHA-512``, ``SCRAM-SHA-256``
  or ``PLAIN``;
- ``SASL_PLAINTEXT``: SASL without TLS; with ``PLAIN`` the password would travel in clear,
  so that combination is refused outside development (``AMTSWEG_DEVELOPMENT=true``).

It lives in ``contracts`` because every layer and the reference receiver use it; it
knows aiokafka's client options, not FastStream's (``services.runtime.kafka`` translates).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal, Self

from aiokafka.helpers import create_ssl_context
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_TLS: frozenset[str] = frozenset({"SSL", "SASL_SSL"})
_SASL: frozenset[str] = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


class KafkaSecurityError(ValueError):
    """The ``KAFKA_…`` security settings contradict each other or name missing files."""


class KafkaSecurity(BaseSettings):
    """TLS and SASL of a Kafka client; :meth:`client_options` for aiokafka.

    Checked when built: a SASL protocol needs a mechanism, a user name and a password;
    certificate files need a TLS protocol and must exist; a key file needs its certificate.
    """

    model_config = SettingsConfigDict(
        env_prefix="KAFKA_",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,  # the input holds the password
    )

    security_protocol: Protocol = "PLAINTEXT"
    sasl_mechanism: Mechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    """CA certificates (PEM) that signed the brokers' certificates; None: the system's."""
    ssl_certfile: Path | None = None
    """The client's certificate chain (PEM) for mTLS; may hold the key too."""
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    development: bool = Field(default=False, validation_alias="AMTSWEG_DEVELOPMENT")
    """``AMTSWEG_DEVELOPMENT``: allows ``PLAIN`` without TLS."""

    @classmethod
    def from_environment(cls) -> KafkaSecurity:
        """Read ``KAFKA_…`` (and ``AMTSWEG_DEVELOPMENT``); :class:`KafkaSecurityError` if wrong."""
        try:
            return cls()
        except ValidationError as error:
            reasons = "; ".join(_reason(e["loc"], e["msg"]) for e in error.errors())
            raise KafkaSecurityError(f"Kafka security settings: {reasons}") from None

    @classmethod
    def plaintext(cls) -> KafkaSecurity:
        """``PLAINTEXT``, whatever the environment says (a local broker's own listener)."""
        return cls.model_construct()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def uses_tls(self) -> bool:
        """Whether the connection is encrypted (``SSL`` or ``SASL_SSL``)."""
        return self.security_protocol in _TLS

    @property
    def uses_sasl(self) -> bool:
        """Whether the client authenticates with SASL."""
        return self.security_protocol in _SASL

    @property
    def principal(self) -> str | None:
        """The broker's name for this client (``User:<name>``) when SASL names it."""
        return f"User:{self.sasl_username}" if self.uses_sasl else None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context that checks the broker's certificate and host name; None without TLS."""
        if not self.uses_tls:
            return None
        password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.ssl_cafile,
            certfile=self.ssl_certfile,
            keyfile=self.ssl_keyfile,
            password=password,
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client.

        Empty for ``PLAINTEXT``, so that such a client is built exactly as without them.
        """
        if self.security_protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            assert self.sasl_password is not None  # checked when built
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        return options


def client_options(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """:meth:`KafkaSecurity.client_options` of ``security``, or of the environment's (None)."""
    return (security or KafkaSecurity.from_environment()).client_options()


def _reason(location: tuple[int | str, ...], message: str) -> str:
    """One validation error, naming the environment variable it is about."""
    message = message.removeprefix("Value error, ")
    return f"KAFKA_{str(location[0]).upper()}: {message}" if location else message


def _problems(settings: KafkaSecurity) -> list[str]:
    """What is wrong with ``settings``, each naming the variables to set (none: fine)."""
    protocol = settings.security_protocol
    problems: list[str] = []
    if settings.uses_sasl:
        if settings.sasl_mechanism is None:
            problems.append(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_MECHANISM "
                "(SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)"
            )
        if not settings.sasl_username or not settings.sasl_password:
            problems.append(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME "
                "and KAFKA_SASL_PASSWORD"
            )
        if (
            settings.sasl_mechanism == "PLAIN"
            and not settings.uses_tls
            and not settings.development
        ):
            problems.append(
                "KAFKA_SASL_MECHANISM=PLAIN sends the password in clear without TLS: "
                "use KAFKA_SECURITY_PROTOCOL=SASL_SSL (SASL_PLAINTEXT only with "
                "AMTSWEG_DEVELOPMENT=true)"
            )
    elif settings.sasl_mechanism or settings.sasl_username or settings.sasl_password:
        problems.append(
            f"KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL: "
            "set it to SASL_SSL (or unset the KAFKA_SASL_* variables)"
        )
    files = {
        "KAFKA_SSL_CAFILE": settings.ssl_cafile,
        "KAFKA_SSL_CERTFILE": settings.ssl_certfile,
        "KAFKA_SSL_KEYFILE": settings.ssl_keyfile,
    }
    given = {name: path for name, path in files.items() if path is not None}
    if given and not settings.uses_tls:
        problems.append(
            f"{', '.join(given)} set but KAFKA_SECURITY_PROTOCOL={protocol} has no TLS: "
            "set it to SSL or SASL_SSL"
        )
    problems.extend(
        f"{name}: no such file: {path}" for name, path in given.items() if not path.is_file()
    )
    if settings.ssl_keyfile is not None and settings.ssl_certfile is None:
        problems.append("KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE (the client certificate)")
    return problems
