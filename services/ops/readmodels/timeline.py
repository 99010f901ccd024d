"""A submission's trail as operations read it: time, event, actor, details.

The details summarise each event without personal data (the events hold none: content is
sealed in the vault) and without the vault's blob names and hashes or the receipt JWS
(``events show --json`` has them).
Events this module does not know are summarised from their short scalar fields, so new
event types show up without a change here. The case's events (replies, requests and their
deadlines, supplements, portal callbacks) show ids, kinds, states and deadlines only: what
the authority wrote and the portal handed in is sealed, as a submission's content.
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
    "RequestOverdue": "notifier",
    "SupplementDispatched": "delivery",
    "PortalNotified": "notifier",
    "PortalNotificationFailed": "notifier",
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


def _parts(parts: list[dict[str, Any]] | None) -> str:
    count = len(parts or [])
    size = sum(int(part.get("size") or 0) for part in parts or [])
    return f"{count} part(s), {size} bytes" if count else "no parts"


def _replied(d: dict[str, Any]) -> str:
    kind = d.get("kind")
    due = f" due {d.get('due')}" if kind == "request" else ""
    signed = f", signed by {d.get('signed_by')}" if d.get("signed_by") else ", unsigned"
    channel = f"on {d.get('topic')}" if d.get("topic") else "callback/pull only"
    return (
        f"{kind} {d.get('reply_id')}{due} to delivery {d.get('delivery_id')}, "
        f"{_parts(d.get('parts'))}{signed}; {channel}"
    )


def _portal_callback(d: dict[str, Any]) -> str:
    attempt = f"notice {d.get('notice')}, attempt {d.get('attempt')}"
    if "status_code" in d:
        return f"{attempt}: HTTP {d.get('status_code')}"
    then = f"next {d.get('retry_at')}" if d.get("retry_at") else "gave up (dead letter)"
    return f"{attempt}: {d.get('reason')}; {then}"


def _overdue(d: dict[str, Any]) -> str:
    topics = [str(t) for t in (d.get("portal_topic"), d.get("authority_topic")) if t]
    told = ", ".join(topics) or "no topic (the portal sees it in its replies)"
    return f"request {d.get('reply_id')} overdue (due {d.get('due')}); told {told}"


def _acknowledged(d: dict[str, Any]) -> str:
    problems = d.get("problems") or []
    why = f": {_problems(problems)}" if problems else ""
    return (
        f"supplement {d.get('supplement_id')}, delivery {d.get('delivery_id')}: "
        f"{d.get('outcome')}{why}"
    )


_DETAILS.update(
    {
        "Replied": _replied,
        "RequestOverdue": _overdue,
        "SupplementReceived": lambda d: (
            f"supplement {d.get('supplement_id')}, "
            + (f"answers request {d.get('answers')}" if d.get("answers") else "answers no request")
            + f", {_parts(d.get('parts'))}"
        ),
        "SupplementDispatched": lambda d: (
            f"supplement {d.get('supplement_id')} as delivery {d.get('delivery_id')} "
            f"(follows {d.get('refers_to')}) to {d.get('authority_id')} on {d.get('topic')}"
        ),
        "SupplementAcknowledged": _acknowledged,
        "PortalNotified": _portal_callback,
        "PortalNotificationFailed": _portal_callback,
    }
)


_PORTAL_EVENTS = frozenset({"Received", "SupplementReceived"})
_AUTHORITY_EVENTS = frozenset(
    {
        "Accepted",
        "RefusedByAuthority",
        "ReceiptRefused",
        "Declined",
        "Replied",
        "SupplementAcknowledged",
    }
)


def actor_of(
    entry: TrailEntry, *, portal_id: str | None = None, authority_id: str | None = None
) -> str:
    """Who caused the event: a portal, a stage, an authority or an operator.

    ``portal_id`` names the submission's portal and ``authority_id`` the authority it was
    last delivered to, for the events that do not name them (receipts, documents handed
    in later).
    """
    data = entry.data
    if entry.event == "ContentErased" and data.get("rule"):
        return "retention"
    for field in ("actor", "by"):
        if isinstance(data.get(field), str) and data[field]:
            return f"operator {data[field]}"
    if entry.event == "Received":
        portal_id = str(data.get("portal_id"))
    elif entry.event in {"ReceiptRefused", "Declined", "Replied"}:
        authority_id = str(data.get("authority_id"))
    if entry.event in _PORTAL_EVENTS:
        return f"portal {portal_id}" if portal_id else "portal"
    if entry.event in _AUTHORITY_EVENTS:
        return f"authority {authority_id}" if authority_id else "authority"
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


def portal_of(trail: list[TrailEntry]) -> str | None:
    """The portal that posted the submission (its ``Received`` event names it)."""
    first = trail[0] if trail else None
    if first is not None and first.event == "Received":
        return str(first.data.get("portal_id") or "") or None
    return None


_DELIVERIES = frozenset({"Dispatched", "SupplementDispatched", "HandedOver"})


def timeline(trail: list[TrailEntry]) -> list[TimelineEntry]:
    """The trail, one readable line per event, in order."""
    portal_id = portal_of(trail)
    authority_id: str | None = None
    lines = []
    for entry in trail:
        if entry.event in _DELIVERIES and entry.data.get("authority_id"):
            authority_id = str(entry.data["authority_id"])
        lines.append(
            TimelineEntry(
                version=entry.version,
                time=entry.timestamp,
                event=entry.event,
                actor=actor_of(entry, portal_id=portal_id, authority_id=authority_id),
                details=details_of(entry),
                hash=entry.hash,
            )
        )
    return lines
