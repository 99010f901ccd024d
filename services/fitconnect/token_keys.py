"""The keys that sign FIT-Connect access tokens: a JWK Set file whose first key signs.

``AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE`` names a JWK Set (``{"keys": [...]}``, mode 0600) of
private P-256 keys (ES256). The first key signs every token issued from now on; the others
still verify tokens they signed (at most one token lifetime, 5 minutes by default, after a
rotation). Only the process that issues tokens and the ones that check them read the file:
tokens never leave Amtsweg's own API, so no key is published.

In development (``AMTSWEG_DEVELOPMENT``) the set is made on first need in
``<data dir>/keys/fit-connect-token.jwks.json``; outside it, a missing setting refuses to
start (``services.ops.app.preflight``).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from services.runtime.key_files import create_key_set, read_or_create, rotate_key_set

DEVELOPMENT_FILE = Path("keys") / "fit-connect-token.jwks.json"
"""The development key set inside the data dir."""
TOKEN_ALG = "ES256"  # noqa: S105 - an algorithm


class TokenKeyError(Exception):
    """The token signing keys are not configured, unreadable, or unusable."""


class TokenKeys:
    """The signing key and every key that verifies, imported once (by ``kid``)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise TokenKeyError("the token key set has no keys")
        imported: dict[str, ECKey] = {}
        for jwk in keys:
            kid, key = _imported(jwk)
            if kid in imported:
                raise TokenKeyError(f"two token keys have the kid {kid!r}")
            imported[kid] = key
        self.kid = str(keys[0]["kid"])
        """The ``kid`` of the key that signs."""
        self.signing = imported[self.kid]
        self._verifying = imported

    def verifying(self, kid: str) -> ECKey | None:
        """The key that verifies tokens with ``kid``, if it is one of the set."""
        return self._verifying.get(kid)

    @classmethod
    def read(cls, path: Path) -> TokenKeys:
        """The key set in ``path``; ``TokenKeyError`` naming what is wrong."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TokenKeyError(f"the token key file {path} does not exist") from None
        except (OSError, ValueError) as error:
            msg = f"the token key file {path} cannot be read ({type(error).__name__})"
            raise TokenKeyError(msg) from None
        try:
            return cls(document)
        except TokenKeyError as error:
            raise TokenKeyError(f"{path}: {error}") from None


def _imported(jwk: object) -> tuple[str, ECKey]:
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        raise TokenKeyError("every token key needs a kid")
    kid = jwk["kid"]
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" not in jwk:
        raise TokenKeyError(f"key {kid!r}: token keys are private P-256 keys (ES256)")
    try:
        return kid, ECKey.import_key(jwk)
    except JoseError as error:
        raise TokenKeyError(f"key {kid!r} is not usable: {error.error}") from None


def new_token_key() -> dict[str, Any]:
    """A new private P-256 JWK for access tokens, its kid dated."""
    kid = f"fit-connect-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": TOKEN_ALG})
    return key.as_dict(private=True)


def create_key_file(path: Path) -> TokenKeys:
    """A new key set with one key at ``path`` (mode 0600); ``FileExistsError`` if there is one."""
    return TokenKeys(create_key_set(path, new_token_key))


def rotate_key_file(path: Path) -> TokenKeys:
    """Put a new key first in the set at ``path``; the others still verify."""
    TokenKeys.read(path)  # a usable set, or the message why not
    return TokenKeys(rotate_key_set(path, new_token_key))


def token_keys(key_file: Path | None, data_dir: Path, *, development: bool) -> TokenKeys:
    """The configured keys; in development a set is made in the data dir if none is set."""
    if key_file is not None:
        return TokenKeys.read(key_file)
    if not development:
        msg = (
            "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE is not set: outside development mode Amtsweg "
            "signs FIT-Connect access tokens with its own key (a JWK Set of P-256 keys, the "
            "first one signing; `amtsweg keys create-token-key <file>`), or set "
            "AMTSWEG_DEVELOPMENT=1 on a development machine"
        )
        raise TokenKeyError(msg)
    return read_or_create(data_dir / DEVELOPMENT_FILE, TokenKeys.read, create_key_file)
