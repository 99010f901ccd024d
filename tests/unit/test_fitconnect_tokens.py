"""FIT-Connect access tokens: issued and verified by signature alone, expiring on time."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from services.fitconnect.clients import Client, ClientKind
from services.fitconnect.scopes import SendScope, parse_scopes
from services.fitconnect.token_keys import (
    TokenKeyError,
    TokenKeys,
    create_key_file,
    new_token_key,
    rotate_key_file,
    token_keys,
)
from services.fitconnect.tokens import InvalidTokenError, Tokens

PORTAL = Client("portal-a", ClientKind.SENDER)
SCOPES = parse_scopes("send:region:DE")


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tokens(keys: TokenKeys, clock: Clock, issuer: str = "amtsweg") -> Tokens:
    return Tokens(keys, issuer=issuer, lifetime_seconds=300, clock=clock)


@pytest.fixture
def keys() -> TokenKeys:
    return TokenKeys({"keys": [new_token_key()]})


def test_a_token_proves_its_client_and_scopes_until_it_expires(keys: TokenKeys) -> None:
    clock = Clock()
    service = tokens(keys, clock)
    issued = service.issue(PORTAL, SCOPES)

    clock.now += 299
    access = service.verify(issued.access_token)
    assert access.client == PORTAL
    assert access.scopes == (SendScope("DE"),)
    assert issued.expires_in == 300

    clock.now += 1
    with pytest.raises(InvalidTokenError, match="expired"):
        service.verify(issued.access_token)


def test_a_token_of_another_key_or_issuer_proves_nothing(keys: TokenKeys) -> None:
    clock = Clock()
    foreign = tokens(TokenKeys({"keys": [new_token_key()]}), clock).issue(PORTAL, SCOPES)
    with pytest.raises(InvalidTokenError):
        tokens(keys, clock).verify(foreign.access_token)

    other_instance = tokens(keys, clock, issuer="elsewhere").issue(PORTAL, SCOPES)
    with pytest.raises(InvalidTokenError, match="not for this API"):
        tokens(keys, clock).verify(other_instance.access_token)


def _with_claims(token: str, **changes: object) -> str:
    header, claims, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    payload.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_a_changed_claim_breaks_the_signature(keys: TokenKeys) -> None:
    service = tokens(keys, Clock())
    issued = service.issue(PORTAL, SCOPES)
    with pytest.raises(InvalidTokenError):
        service.verify(_with_claims(issued.access_token, sub="portal-b"))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 5000])
def test_garbage_is_no_token(keys: TokenKeys, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens(keys, Clock()).verify(token)


def test_after_a_rotation_old_tokens_still_verify_and_new_ones_use_the_new_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token.jwks.json"
    clock = Clock()
    old = create_key_file(path)
    issued = tokens(old, clock).issue(PORTAL, SCOPES)

    new = rotate_key_file(path)
    assert new.kid != old.kid
    assert tokens(new, clock).verify(issued.access_token).client == PORTAL
    assert f'"kid":"{new.kid}"' in base64.urlsafe_b64decode(
        tokens(new, clock).issue(PORTAL, SCOPES).access_token.split(".")[0] + "=="
    ).decode().replace(" ", "")
    assert path.stat().st_mode & 0o777 == 0o600


def test_outside_development_the_key_file_is_required(tmp_path: Path) -> None:
    with pytest.raises(TokenKeyError, match="AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE"):
        token_keys(None, tmp_path, development=False)
    assert not any(tmp_path.iterdir())


def test_in_development_one_key_set_is_made_and_then_read(tmp_path: Path) -> None:
    first = token_keys(None, tmp_path, development=True)
    again = token_keys(None, tmp_path, development=True)
    assert first.kid == again.kid


def test_a_public_key_cannot_sign_tokens() -> None:
    public = {k: v for k, v in new_token_key().items() if k != "d"}
    with pytest.raises(TokenKeyError, match="private P-256"):
        TokenKeys({"keys": [public]})
