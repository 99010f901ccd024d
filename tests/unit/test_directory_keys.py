"""Authority keys and callback URLs in the directory: public JWKs only, HTTPS callbacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.routing.directory_file import DirectoryError, parse_directory
from tests.support.authority import ec_signing_key, encryption_key, public, signing_key
from tests.unit.test_routing_directory import valid_document


def with_koeln(**entry: Any) -> dict[str, Any]:
    document = valid_document()
    document["authorities"][0].update(entry)
    return document


def problems_of(document: dict[str, Any]) -> str:
    with pytest.raises(DirectoryError) as caught:
        parse_directory(document)
    return "; ".join(caught.value.problems)


def test_public_keys_and_a_callback_url_are_taken() -> None:
    document = with_koeln(
        keys={"encryption": public(encryption_key()), "verification": public(ec_signing_key())},
        channel={
            "topic": "amtsweg.delivery.jobcenter-koeln",
            "callbackUrl": "https://fachverfahren.koeln.example/callbacks/amtsweg",
        },
    )
    koeln = parse_directory(document).authority("jobcenter-koeln")
    assert koeln is not None
    assert koeln.channel.callback_url == "https://fachverfahren.koeln.example/callbacks/amtsweg"
    assert koeln.keys.encryption is not None
    assert json.loads(koeln.keys.encryption)["kid"] == encryption_key()["kid"]
    assert koeln.keys.verification is not None
    hash(koeln)  # still an immutable value


def test_an_authority_without_keys_or_callback_is_still_fine() -> None:
    koeln = parse_directory(valid_document()).authority("jobcenter-koeln")
    assert koeln is not None
    assert (koeln.keys.encryption, koeln.keys.verification, koeln.channel.callback_url) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"encryption": encryption_key()}, "private key members"),
        ({"verification": signing_key()}, "private key members"),
        ({"encryption": public(ec_signing_key())}, "kty must be one of ('RSA',)"),
        ({"encryption": {**public(encryption_key()), "kid": ""}}, "needs a 'kid'"),
        ({"encryption": {**public(encryption_key()), "use": "sig"}}, "'use' must be 'enc'"),
        ({"encryption": {**public(encryption_key()), "alg": "RSA1_5"}}, "RSA-OAEP-256"),
        ({"encryption": {**public(encryption_key()), "n": "AQAB"}}, "at least 2048 bits"),
        ({"verification": {"kty": "EC", "kid": "x", "crv": "P-192"}}, "an EC key needs"),
        ({"signing": public(signing_key())}, "optional 'encryption' and 'verification'"),
    ],
)
def test_unusable_keys_are_refused_with_a_reason(keys: dict[str, Any], problem: str) -> None:
    assert problem in problems_of(with_koeln(keys=keys))


@pytest.mark.parametrize(
    "url",
    ["http://fachverfahren.koeln.example/cb", "ftp://x/cb", "https://", "", 42],
)
def test_callback_urls_must_be_https_except_on_loopback(url: object) -> None:
    channel = {"topic": "amtsweg.delivery.jobcenter-koeln", "callbackUrl": url}
    assert "callbackUrl" in problems_of(with_koeln(channel=channel))
    local = {"topic": "amtsweg.delivery.jobcenter-koeln", "callbackUrl": "http://127.0.0.1:9/cb"}
    assert parse_directory(with_koeln(channel=local)).authority("jobcenter-koeln") is not None
