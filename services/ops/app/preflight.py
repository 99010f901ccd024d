"""What a process must be given outside development mode, checked before anything starts.

In development (``amtsweg run --dev``, ``AMTSWEG_DEVELOPMENT``) Amtsweg makes what is
missing in the data dir: a key-encryption key, envelope signing keys, FIT-Connect token
keys and CA, a portal token, and leaves the hash chains unkeyed. Outside it, none of that
may happen silently: a process that lacks a secret it needs refuses to start, naming
every setting that is missing (not only the first) and what each is for, before it
creates a file or starts a broker.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from services.ops.app.bootstrap import LEDGER_WRITERS, SIGNING_SERVICES
from services.ops.app.settings import Settings
from services.ops.tenants.scope import SETTING as SCOPES_SETTING
from services.ops.tenants.scope import unscoped as unscoped_operators

INTAKE = "intake"
CHECKPOINT = "checkpoint"
MIN_CHAIN_KEY_BYTES = 32
"""An HMAC key shorter than its hash (SHA-256) is weaker than the chain it protects."""


@dataclass(frozen=True)
class Missing:
    """One setting a process needs and was not given."""

    variable: str
    purpose: str


class StartRefusedError(Exception):
    """Settings a process needs are missing outside development mode (exit code 2)."""

    def __init__(self, missing: list[Missing]) -> None:
        self.missing = missing
        lines = "\n".join(f"  {m.variable}: {m.purpose}" for m in missing)
        super().__init__(
            "refusing to start outside development mode; set\n"
            f"{lines}\n"
            "(README, Configuration), or on a development machine run `amtsweg run --dev`"
        )


def missing_settings(settings: Settings, services: AbstractSet[str]) -> list[Missing]:
    """What ``services`` would need and ``settings`` lack (nothing in development mode)."""
    if settings.run.development:
        return []
    missing = []
    if INTAKE in services and not settings.intake.portal_tokens:
        missing.append(
            Missing(
                "AMTSWEG_PORTAL_TOKENS",
                "JSON: portal id -> SHA-256 (hex) of its bearer token; without it no portal "
                "can submit",
            )
        )
    if settings.vault.kek_file is None:
        missing.append(
            Missing(
                "AMTSWEG_KEK_FILE",
                "the key-encryption key that wraps the per-submission data keys "
                "(`amtsweg keys create-kek FILE`)",
            )
        )
    if services & LEDGER_WRITERS and not settings.ledger.ledger_chain_keys:
        missing.append(
            Missing(
                "AMTSWEG_LEDGER_CHAIN_KEYS",
                'JSON: key id -> HMAC key of the hash chains, e.g. {"2026-12": "<32+ random '
                'bytes>"}; with several keys also AMTSWEG_LEDGER_CHAIN_KEY_ID',
            )
        )
    for kid, key in settings.ledger.ledger_chain_keys.items():
        if len(key.get_secret_value().encode()) < MIN_CHAIN_KEY_BYTES:
            missing.append(
                Missing(
                    f"AMTSWEG_LEDGER_CHAIN_KEYS ({kid!r})",
                    f"a chain key of at least {MIN_CHAIN_KEY_BYTES} bytes (this one is shorter)",
                )
            )
    if services & SIGNING_SERVICES and settings.delivery.signing_keys_file is None:
        missing.append(
            Missing(
                "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE",
                "the JWK set Amtsweg signs delivery envelopes with "
                "(`amtsweg keys create-signing-key FILE`)",
            )
        )
    if CHECKPOINT in services:
        if settings.checkpoint.dir is None:
            missing.append(
                Missing(
                    "AMTSWEG_CHECKPOINT_DIR",
                    "where signed checkpoints are written, outside the ledger's database "
                    "(WORM storage)",
                )
            )
        if settings.checkpoint.signing_key_file is None:
            missing.append(
                Missing(
                    "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE",
                    "the checkpoint writer's Ed25519 key (`amtsweg keys create-checkpoint-key "
                    "FILE --public-keys JWKS`)",
                )
            )
    if INTAKE in services:
        missing += _fit_connect_missing(settings)
        missing += _scopes_missing(settings)
    return missing


def _scopes_missing(settings: Settings) -> list[Missing]:
    """Operators of the ops API (in the intake's HTTP process) without a tenant scope."""
    operator = settings.operator
    if operator.tenants_file is None:
        return []
    unscoped = unscoped_operators(operator.operator_tokens, operator.operator_scopes)
    if not unscoped:
        return []
    return [
        Missing(
            f"{SCOPES_SETTING} ({', '.join(unscoped)})",
            'JSON: operator name -> the tenant ids it sees, ["*"] for the platform operator; '
            "with AMTSWEG_TENANTS_FILE every operator needs one",
        )
    ]


def refuse_unless_configured(settings: Settings, services: AbstractSet[str]) -> None:
    """``StartRefusedError`` listing every setting ``services`` need and lack."""
    missing = missing_settings(settings, services)
    if missing:
        raise StartRefusedError(missing)


def _fit_connect_missing(settings: Settings) -> list[Missing]:
    """What the FIT-Connect API (in the intake's HTTP process) needs and lacks."""
    fitconnect = settings.fitconnect
    missing = []
    if fitconnect.token_keys_file is None:
        missing.append(
            Missing(
                "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE",
                "the JWK set Amtsweg signs FIT-Connect access tokens with "
                "(`amtsweg keys create-token-key FILE`)",
            )
        )
    if fitconnect.set_keys_file is None:
        missing.append(
            Missing(
                "AMTSWEG_FITCONNECT_SET_KEYS_FILE",
                "the JWK set Amtsweg signs the FIT-Connect event log's Security Event Tokens "
                "with (`amtsweg keys create-set-key FILE`)",
            )
        )
    if fitconnect.ca_cert_file is None or fitconnect.ca_key_file is None:
        missing.append(
            Missing(
                "AMTSWEG_FITCONNECT_CA_CERT_FILE and AMTSWEG_FITCONNECT_CA_KEY_FILE",
                "the CA (PEM certificate and key) that certifies the FIT-Connect "
                "destinations' encryption keys (x5c)",
            )
        )
    return missing
