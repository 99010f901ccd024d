"""Callback signatures as FIT-Connect specifies them: HMAC-SHA512 over "<timestamp>.<body>"."""

from __future__ import annotations

import hashlib
import hmac

from contracts.callbacks import (
    AUTHENTICATION_HEADER,
    TIMESTAMP_HEADER,
    callback_headers,
    callback_signature,
    verify_callback,
)

SECRET = "callback-secret-of-the-authority"
BODY = b'{"type":"https://amtsweg.de/callbacks/new-deliveries","deliveries":[]}'
NOW = 1_767_225_600


def test_signature_is_hex_hmac_sha512_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha512).hexdigest()
    assert callback_signature(SECRET, NOW, BODY) == expected
    assert len(expected) == 128
    headers = callback_headers(SECRET, NOW, BODY)
    assert headers == {TIMESTAMP_HEADER: str(NOW), AUTHENTICATION_HEADER: expected}


def test_receiver_accepts_a_fresh_genuine_callback() -> None:
    headers = callback_headers(SECRET, NOW, BODY)
    assert verify_callback(
        SECRET, headers[TIMESTAMP_HEADER], headers[AUTHENTICATION_HEADER], BODY, now=NOW + 299
    )


def test_receiver_refuses_forged_altered_replayed_or_incomplete_callbacks() -> None:
    headers = callback_headers(SECRET, NOW, BODY)
    stamp, signature = headers[TIMESTAMP_HEADER], headers[AUTHENTICATION_HEADER]
    forged = callback_signature("guessed-secret", NOW, BODY)
    assert not verify_callback(SECRET, stamp, forged, BODY, now=NOW)
    assert not verify_callback(SECRET, stamp, signature, BODY + b" ", now=NOW)
    assert not verify_callback(SECRET, str(NOW + 1), signature, BODY, now=NOW)
    assert not verify_callback(SECRET, stamp, signature, BODY, now=NOW + 301)  # replay
    assert not verify_callback(SECRET, None, signature, BODY, now=NOW)
    assert not verify_callback(SECRET, stamp, None, BODY, now=NOW)
    assert not verify_callback(SECRET, "-1", signature, BODY, now=NOW)
