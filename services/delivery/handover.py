"""Handing a submission over to another Amtsweg instance (e.g. another state's backbone).

When the routed authority's channel is another instance, delivery posts the submission
to that instance's intake (``POST /v1/submissions``, multipart) as a portal: the FIT-
Connect metadata as the portal sent it, the data and every attachment, and the resolved
region as routing hint. The idempotency key is our delivery id, and our correlation id
travels along, so:

- a retry after a crash (posted, but not yet recorded) gets the same remote submission,
  never a second one;
- the remote ``Received`` event names our delivery id and correlation id, our
  ``HandedOver`` event names the remote submission id: one continuous trail.

The outcome is recorded as an event: ``HandedOver``, or ``HandoverRefused`` (a 4xx answer:
the other instance will not take it; the submission goes to triage). No answer, or a 5xx,
is retried (:class:`HandoverUnavailableError`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from events.dossier import Dossier
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.delivery.envelope import delivery_id_for
from services.delivery.recipients import Recipient
from services.delivery.settings import DeliverySettings

log = structlog.get_logger(__name__)

_MAX_DETAIL = 300


class HandoverUnavailableError(Exception):
    """The other instance did not answer usefully (network, timeout, 5xx): try again."""


@dataclass(frozen=True)
class HandoverAnswer:
    """The other instance's answer: its submission id, or why it refused (4xx)."""

    remote_submission_id: str | None
    status_code: int
    refusal: str | None = None


def _request(
    submission: Submission, vault: Vault
) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    """The multipart form: metadata and routing fields, data and attachment files."""
    dossier = Dossier.of(vault, submission)
    fields = {"metadata": json.dumps(dossier.metadata, ensure_ascii=False)}
    region = submission.region or ""
    hint = {"ars": region} if len(region) == 12 else dossier.routing
    if hint:
        fields["routing"] = json.dumps(_portal_hint(hint))
    files = []
    for declared, sealed in dossier.parts(submission):
        content = vault.read(submission.id, sealed["blob"])
        name = "data" if declared.part_id == "data" else declared.filename or declared.part_id
        field = "data" if declared.part_id == "data" else "attachment"
        files.append((field, (name, content, declared.mime_type)))
    return fields, files


def _portal_hint(hint: dict[str, Any]) -> dict[str, Any]:
    """The hint as a portal writes it (``postalCode``, not the stored ``postal_code``)."""
    return {("postalCode" if k == "postal_code" else k): v for k, v in hint.items()}


async def post_handover(
    client: httpx.AsyncClient,
    recipient: Recipient,
    submission: Submission,
    vault: Vault,
    delivery_id: str,
) -> HandoverAnswer:
    """Post the submission to the other instance; raises ``HandoverUnavailableError``."""
    assert recipient.handover_url is not None
    assert recipient.handover_token is not None
    fields, files = await asyncio.to_thread(_request, submission, vault)
    headers = {
        "Authorization": f"Bearer {recipient.handover_token}",
        "Idempotency-Key": delivery_id,
        "X-Correlation-Id": submission.correlation_id,
    }
    url = f"{recipient.handover_url}/v1/submissions"
    try:
        answer = await client.post(url, data=fields, files=files, headers=headers)
    except httpx.HTTPError as error:
        raise HandoverUnavailableError(f"{type(error).__name__} from {url}") from error
    if answer.status_code == 202:
        return HandoverAnswer(str(answer.json()["submissionId"]), 202)
    if answer.status_code >= 500 or answer.status_code == 429:
        raise HandoverUnavailableError(f"HTTP {answer.status_code} from {url}")
    return HandoverAnswer(None, answer.status_code, _refusal(answer))


def _refusal(answer: httpx.Response) -> str:
    """HTTP status and the problem's type and title (never document values)."""
    try:
        problem = answer.json()
    except ValueError:
        problem = {}
    slug = str(problem.get("type", "")).rsplit("/", 1)[-1] if isinstance(problem, dict) else ""
    title = str(problem.get("title", "")) if isinstance(problem, dict) else ""
    return f"HTTP {answer.status_code} {slug}: {title}".strip()[:_MAX_DETAIL]


async def hand_over_submission(
    ledger: Ledger,
    vault: Vault,
    submission: Submission,
    recipient: Recipient,
    client: httpx.AsyncClient,
) -> bool:
    """Hand a routed submission over and record the outcome; False if it already was."""
    authority_id = recipient.authority_id
    delivery_id = delivery_id_for(submission.id, authority_id, submission.version)
    answer = await post_handover(client, recipient, submission, vault, delivery_id)
    assert recipient.handover_url is not None
    url = recipient.handover_url

    def record(current: Submission) -> bool:
        if current.status is not Status.ROUTED or current.authority_id != authority_id:
            return False  # decided meanwhile (another worker): nothing to add
        if answer.remote_submission_id is not None:
            return current.hand_over(delivery_id, authority_id, url, answer.remote_submission_id)
        return current.refuse_handover(
            delivery_id, authority_id, answer.refusal or "refused", answer.status_code
        )

    changed = await asyncio.to_thread(ledger.execute, submission.id, record)
    log.info(
        "delivery.handed_over" if answer.remote_submission_id else "delivery.handover_refused",
        authority_id=authority_id,
        delivery_id=delivery_id,
        remote_submission_id=answer.remote_submission_id,
        status_code=answer.status_code,
        changed=changed,
    )
    return changed


def handover_client(
    settings: DeliverySettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client for handovers (``transport``: tests route it to an app in-process)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.handover_timeout_seconds),
        follow_redirects=False,
        transport=transport,
    )
