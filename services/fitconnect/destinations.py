"""Destination ids: every authority of the directory is a FIT-Connect destination.

A destination id is a UUID (the Submission API's ``destinationId``) derived from the
authority id, so it is stable across restarts, instances of one deployment and directory
versions, and needs no table. The *routing destination* is Amtsweg's addition: one id per
instance that accepts any service Amtsweg knows and routes by the submission's content.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f1c5a0e-4d7b-5c8e-9a3f-2b6d8e0c1a47")
"""The namespace of Amtsweg's destination ids (a fixed, random UUID)."""

ROUTING_DESTINATION = uuid.uuid5(NAMESPACE, "routing")
"""The destination that routes by content (no authority has this id)."""


def destination_id(authority_id: str) -> uuid.UUID:
    """The stable destination id of one authority."""
    return uuid.uuid5(NAMESPACE, f"authority:{authority_id}")
