"""A submission's trail as operations read it: time, event, actor, details.

The details summarise each event without personal data (the events hold none: content is
sealed in the vault) and without the vault's blob names and hashes or the receipt JWS
(``events show --json`` has them).
Events this module does not know are summarised from their short scalar fields, so new
event types show up without a change here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events.ledger import TrailEntry


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline."""

    version: int
    time: str
    event: str
    actor: str
    details: str
    hash: str


_HIDDEN = {
    "dossier",
    "data",
    "attachments",
    "findings",
    "envelope",
    "signed_receipt",
    "request_digest",
}
_STAGE_ACTORS = {
    "Validated": "validation",
    "Rejected": "validation",
    "Routed": "routing",
    "Unroutable": "routing",
    "Dispatched": "delivery",
    "Withheld": "delivery",
    "Reminded": "notifier",
    "Escalated": "notifier",
    "CallbackDelivered": "notifier",
    "CallbackFailed": "notifier",
    "DeliveryFailed": "notifier",
    "Forwarded": "routing",
    "HandedOver": "delivery",
    "HandoverRefused": "delivery",
}


def _problems(problems: list[dict[str, Any]]) -> str:
    slugs = [str(p.get("type") or p.get("reason") or "?").rsplit("/", 1)[-1] for p in problems]
    shown = ", ".join(slugs[:5])
    return shown + (f" (+{len(slugs) - 5} more)" if len(slugs) > 5 else "")


_DETAILS: dict[str, Callable[[dict[str, Any]], str]] = {
    "Received": lambda d: (
        f"service {d.get('leika_key')}, {1 + len(d.get('attachments') or [])} part(s)"
    ),
    "Validated": lambda d: (
        f"schema {d.get('schema_uri')}, catalog {d.get('catalog_version')}, "
        f"routing keys {','.join(d.get('routing_keys') or []) or 'none'}"
    ),
    "Withheld": lambda d: f"not delivered to {d.get('authority_id')}: {d.get('reason')}",
    "ContentErased": lambda d: (
        f"content erased ({d.get('rule') or 'on request'}; {d.get('legal_basis')}): "
        f"data key {(d.get('destroyed') or {}).get('dataKey')}, "
        f"{(d.get('destroyed') or {}).get('blobs')} blob(s); reason: {d.get('reason')}"
    ),
    "Rejected": lambda d: (
        f"{_problems(d.get('problems') or [])}; catalog {d.get('catalog_version')}"
    ),
    "Routed": lambda d: (
        f"to {d.get('authority_id')} (area {d.get('area')}), directory {d.get('directory_version')}"
    ),
    "Unroutable": lambda d: f"{d.get('reason')}: {d.get('detail')}",
    "Dispatched": lambda d: f"delivery {d.get('delivery_id')} on {d.get('topic')}",
    "Accepted": lambda d: f"delivery {d.get('delivery_id')}, reference {d.get('reference') or '-'}",
    "RefusedByAuthority": lambda d: f"{d.get('outcome')}: {_problems(d.get('problems') or [])}",
    "Reminded": lambda d: f"reminder {d.get('stage')} after {d.get('after_seconds')} s",
    "Escalated": lambda d: f"no receipt after {d.get('after_seconds')} s",
    "CallbackDelivered": lambda d: (
        f"notice {d.get('notice')}, attempt {d.get('attempt')}: HTTP {d.get('status_code')}"
    ),
    "CallbackFailed": lambda d: (
        f"notice {d.get('notice')}, attempt {d.get('attempt')}: {d.get('reason')}; "
        f"next {d.get('retry_at')}"
    ),
    "DeliveryFailed": lambda d: f"gave up after {d.get('attempts')} attempt(s): {d.get('reason')}",
    "ReceiptRefused": lambda d: f"from {d.get('authority_id')}: {d.get('reason')}",
    "Replayed": lambda d: (
        f"{d.get('stage')} against {d.get('against')} {d.get('version')}: "
        f"{d.get('outcome')} ({d.get('decision')}); reason: {d.get('reason')}"
    ),
    "Redelivered": lambda d: (
        f"delivery {d.get('delivery_id')}, notice {d.get('notice')}; reason: {d.get('reason')}"
    ),
    "CallbackRequeued": lambda d: (
        f"delivery {d.get('delivery_id')}, one more attempt; reason: {d.get('reason')}"
    ),
}


def actor_of(entry: TrailEntry) -> str:
    """Who caused the event: a portal, a stage, an authority or an operator."""
    data = entry.data
    if entry.event == "ContentErased" and data.get("rule"):
        return "retention"
    for field in ("actor", "by"):
        if isinstance(data.get(field), str) and data[field]:
            return f"operator {data[field]}"
    if entry.event == "Received":
        return f"portal {data.get('portal_id')}"
    if entry.event in {"Accepted", "RefusedByAuthority"}:
        return "authority"
    if entry.event in {"ReceiptRefused", "Declined"}:
        return f"authority {data.get('authority_id')}"
    return _STAGE_ACTORS.get(entry.event, "amtsweg")


def details_of(entry: TrailEntry) -> str:
    """A one-line summary of the event, without personal data."""
    summarise = _DETAILS.get(entry.event)
    if summarise is not None:
        return summarise(entry.data)
    return ", ".join(
        f"{key}={value}"
        for key, value in entry.data.items()
        if key not in _HIDDEN and isinstance(value, str | int | float) and len(str(value)) < 120
    )


def timeline(trail: list[TrailEntry]) -> list[TimelineEntry]:
    """The trail, one readable line per event, in order."""
    return [
        TimelineEntry(
            version=entry.version,
            time=entry.timestamp,
            event=entry.event,
            actor=actor_of(entry),
            details=details_of(entry),
            hash=entry.hash,
        )
        for entry in trail
    ]
