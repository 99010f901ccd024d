"""Size limits both sides of a delivery agree on: what Amtsweg sends, what a receiver opens.

Intake refuses a part (the data document or one attachment) over
:data:`MAX_PART_BYTES` and metadata over :data:`MAX_METADATA_BYTES` by default
(``AMTSWEG_MAX_ATTACHMENT_BYTES``, ``AMTSWEG_MAX_METADATA_BYTES``), so no delivered JWE
holds more. A JOSE library guards against oversized input with limits of its own
(joserfc: 64 KB of ciphertext, 128 KB of JWS payload), far below a real attachment; the
reference receiver sets them from these figures instead (:func:`jwe_compact_bytes`). An
instance that raises its intake limits tells its authorities, who raise the receiver's
(``amtsweg authority consume --max-part-bytes``).
"""

from __future__ import annotations

from typing import Final

MiB: Final = 1024 * 1024

MAX_PART_BYTES: Final = 500 * MiB
"""The largest part (data document or attachment) intake accepts by default."""

MAX_METADATA_BYTES: Final = 32 * 1024
"""The largest metadata document intake accepts by default (encrypted as one JWE). It
travels inside the delivery envelope, which must fit the broker's message limit."""

MAX_ENVELOPE_BYTES: Final = 8 * MiB
"""The largest delivery envelope a receiver verifies: ``AMTSWEG_KAFKA_MAX_MESSAGE_BYTES``
(1 MiB by default, Kafka's own default) may be raised up to this, not beyond."""

JWE_HEADER_BYTES: Final = 4096
"""Room for a JWE's protected header (``alg``, ``enc``, ``kid``, ``cty``), base64url."""

JWE_ENCRYPTED_KEY_BYTES: Final = 2048
"""Room for the RSA-OAEP encrypted key, base64url: up to a 12 288-bit key."""


def base64url_length(size: int) -> int:
    """The length of ``size`` bytes in unpadded base64url."""
    return (4 * size + 2) // 3


def jwe_compact_bytes(plaintext_bytes: int) -> int:
    """The most bytes a JWE compact serialization of ``plaintext_bytes`` (A256GCM) can have."""
    return JWE_HEADER_BYTES + JWE_ENCRYPTED_KEY_BYTES + base64url_length(plaintext_bytes) + 64
