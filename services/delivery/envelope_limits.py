"""The most bytes a delivery envelope can have, from the limits that shape it.

The relay publishes a dispatched submission's envelope as one Kafka message, so every
submission the intake accepts must make an envelope within the broker's message limit.
The envelope holds the metadata encrypted (JWE: base64url of the ciphertext plus a fixed
header, encrypted key, IV and tag), each part's description (ids, media type, size, hash,
reference), and the inline parts encrypted, at most ``inline_total_bytes`` of them. The
composition root compares :func:`envelope_bound` with the message limit at start.
"""

from __future__ import annotations

import math

JWE_OVERHEAD = 1536
"""One JWE compact beyond its encoded plaintext: protected header (a media type of up to
255 characters, a key id), an RSA-4096 encrypted key, IV and tag, in base64url."""
PART_OVERHEAD = 768
"""A part's members besides its content: ids, a media type of up to 255 characters, size,
SHA-512, and its reference path (the public base URL is counted apart)."""
ENVELOPE_OVERHEAD = 3072
"""The envelope's own members (ids, service identifier, links, receipt topic) and the Kafka
record around it (key, headers, batch framing)."""


def encoded_size(plaintext_bytes: int) -> int:
    """The base64url length of ``plaintext_bytes`` (JWE compact's encoding)."""
    return 4 * math.ceil(plaintext_bytes / 3)


def envelope_bound(
    *, metadata_bytes: int, parts: int, inline_total_bytes: int, base_url: str = ""
) -> int:
    """The most bytes an envelope can have: metadata up to ``metadata_bytes``, ``parts``
    parts (data and attachments), at most ``inline_total_bytes`` of them inline."""
    links = 3 + parts  # self, receipt, the prefix of each part's reference
    return (
        ENVELOPE_OVERHEAD
        + links * len(base_url.encode())
        + JWE_OVERHEAD
        + encoded_size(metadata_bytes)
        + parts * (PART_OVERHEAD + JWE_OVERHEAD)
        + encoded_size(inline_total_bytes)
    )
