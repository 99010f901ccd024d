"""Kafka header names Amtsweg reads or writes on the intake topic and its dead-letter topic."""

from __future__ import annotations

PORTAL_ID = "amtsweg-portal-id"
"""On ``amtsweg.intake``: the producing portal (or ``portalId`` in the body)."""

IDEMPOTENCY_KEY = "amtsweg-idempotency-key"
"""On ``amtsweg.intake``: the portal's idempotency key (or ``idempotencyKey`` in the body)."""

CORRELATION_ID = "amtsweg-correlation-id"
"""On ``amtsweg.intake``: optional; recorded with the submission."""

PROBLEM = "amtsweg-problem"
"""On ``amtsweg.intake.dlq``: why the message was refused, an RFC 7807 problem (JSON)."""

ORIGINAL_TOPIC = "amtsweg-original-topic"
ORIGINAL_PARTITION = "amtsweg-original-partition"
ORIGINAL_OFFSET = "amtsweg-original-offset"
"""On ``amtsweg.intake.dlq``: where the refused message was."""

VALUE_OMITTED = "amtsweg-value-omitted"
"""On ``amtsweg.intake.dlq``: set (to the original size) when the value was too large to copy."""
