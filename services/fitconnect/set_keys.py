"""The keys that sign the Security Event Tokens of FIT-Connect's event log (PS512).

``AMTSWEG_FITCONNECT_SET_KEYS_FILE`` names a JWK Set (``{"keys": [...]}``, mode 0600) of
private RSA keys of at least 4096 bits. The first key signs every event token from now on;
every key of the set is published (public halves) at ``GET /fit-connect/.well-known/jwks.json``
so senders and receivers verify the event log, also tokens signed before a rotation. Event
tokens never expire, so an older key stays in the set as long as its tokens are read.

In development (``AMTSWEG_DEVELOPMENT``) the set is made on first need in
``<data dir>/keys/fit-connect-set.jwks.json``; outside it, a missing setting refuses to start
(``services.ops.app.preflight``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from services.runtime.key_files import create_key_set, read_or_create, rotate_key_set

DEVELOPMENT_FILE = Path("keys") / "fit-connect-set.jwks.json"
"""The development key set inside the data dir."""
SET_ALG = "PS512"
MIN_RSA_BITS = 4096


class SetKeyError(Exception):
    """The event token signing keys are not configured, unreadable, or unusable."""


Certify = Callable[[str, rsa.RSAPublicKey], list[str]]
"""kid, public key -> its ``x5c`` (certificate chain, leaf first, base64 DER)."""


class SetKeys:
    """The signing key and the published set, imported once."""

    def __init__(self, jwks: dict[str, Any], certify: Certify | None = None) -> None:
        """``certify``: the ``x5c`` of a key whose JWK has none (the spec's ``JWK`` requires
        one); a key's own ``x5c`` (an operator's certificate) is published as it is."""
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise SetKeyError("the event token key set has no keys")
        imported: dict[str, RSAKey] = {}
        for jwk in keys:
            kid, key = _imported(jwk)
            if kid in imported:
                raise SetKeyError(f"two event token keys have the kid {kid!r}")
            imported[kid] = key
        self.kid = str(keys[0]["kid"])
        """The ``kid`` of the key that signs."""
        self.signing = imported[self.kid]
        self._keys = imported
        self._x5c = {str(jwk["kid"]): _x5c(jwk, imported[jwk["kid"]], certify) for jwk in keys}

    def sign_compact(self, payload: bytes) -> str:
        """A compact JWS of ``payload`` by the signing key (PS512, with its ``kid``)."""
        header = {"alg": SET_ALG, "kid": self.kid}
        return jws.serialize_compact(header, payload, self.signing, algorithms=[SET_ALG])

    def published(self) -> dict[str, Any]:
        """The JWK Set of the public halves (``kid``, ``alg`` PS512, ``use`` sig,
        ``key_ops`` verify, ``x5c`` where known)."""
        return {
            "keys": [
                key.as_dict(private=False)
                | {"kid": kid, "alg": SET_ALG, "use": "sig", "key_ops": ["verify"]}
                | ({"x5c": self._x5c[kid]} if self._x5c[kid] else {})
                for kid, key in self._keys.items()
            ]
        }

    @classmethod
    def read(cls, path: Path, certify: Certify | None = None) -> SetKeys:
        """The key set in ``path``; ``SetKeyError`` naming what is wrong."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SetKeyError(f"the event token key file {path} does not exist") from None
        except (OSError, ValueError) as error:
            msg = f"the event token key file {path} cannot be read ({type(error).__name__})"
            raise SetKeyError(msg) from None
        try:
            return cls(document, certify)
        except SetKeyError as error:
            raise SetKeyError(f"{path}: {error}") from None


def _x5c(jwk: dict[str, Any], key: RSAKey, certify: Certify | None) -> list[str]:
    given = jwk.get("x5c")
    if isinstance(given, list) and given and all(isinstance(c, str) for c in given):
        return list(given)
    if certify is None:
        return []
    public = key.public_key
    assert isinstance(public, rsa.RSAPublicKey)
    return certify(str(jwk["kid"]), public)


def _imported(jwk: object) -> tuple[str, RSAKey]:
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        raise SetKeyError("every event token key needs a kid")
    kid = jwk["kid"]
    if jwk.get("kty") != "RSA" or "d" not in jwk:
        raise SetKeyError(f"key {kid!r}: event token keys are private RSA keys (PS512)")
    try:
        key = RSAKey.import_key(jwk)
    except JoseError as error:
        raise SetKeyError(f"key {kid!r} is not usable: {error.error}") from None
    except ValueError:
        raise SetKeyError(f"key {kid!r} is not a usable RSA key") from None
    if key.private_key is None or key.private_key.key_size < MIN_RSA_BITS:
        raise SetKeyError(f"key {kid!r}: event token keys have at least {MIN_RSA_BITS} bits")
    return kid, key


def new_set_key() -> dict[str, Any]:
    """A new private RSA JWK (4096 bits) for event tokens, its kid dated."""
    kid = f"fit-connect-set-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    key = RSAKey.generate_key(
        MIN_RSA_BITS, parameters={"kid": kid, "use": "sig", "alg": SET_ALG}, private=True
    )
    return key.as_dict(private=True)


def create_key_file(path: Path) -> SetKeys:
    """A new key set with one key at ``path`` (mode 0600); ``FileExistsError`` if there is one."""
    return SetKeys(create_key_set(path, new_set_key))


def rotate_key_file(path: Path) -> SetKeys:
    """Put a new key first in the set at ``path``; the others stay published."""
    SetKeys.read(path)  # a usable set, or the message why not
    return SetKeys(rotate_key_set(path, new_set_key))


def set_keys(
    key_file: Path | None, data_dir: Path, *, development: bool, certify: Certify | None = None
) -> SetKeys:
    """The configured keys; in development a set is made in the data dir if none is set."""
    if key_file is not None:
        return SetKeys.read(key_file, certify)
    if not development:
        msg = (
            "AMTSWEG_FITCONNECT_SET_KEYS_FILE is not set: outside development mode Amtsweg "
            "signs the FIT-Connect event log with its own key (a JWK Set of RSA keys of at "
            "least 4096 bits, the first one signing; `amtsweg keys create-set-key <file>`), "
            "or set AMTSWEG_DEVELOPMENT=1 on a development machine"
        )
        raise SetKeyError(msg)
    return read_or_create(
        data_dir / DEVELOPMENT_FILE, lambda path: SetKeys.read(path, certify), create_key_file
    )
