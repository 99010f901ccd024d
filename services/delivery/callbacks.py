"""The callback channel: POST a signed notice to the authority's callback URL.

The notice names the delivery, never its content (FIT-Connect style); the authority
fetches the envelope from its topic or ``GET /v1/deliveries/{id}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from contracts import topics
from contracts.callbacks import callback_headers
from contracts.messages import CallbackDelivery, CallbackNotice
from services.delivery.envelope import delivery_path


@dataclass(frozen=True)
class CallbackResult:
    """What one attempt came to: a 2xx status, or the reason it failed."""

    status_code: int | None
    failure: str | None = None


class CallbackSender(Protocol):
    """Sends one notice (the port the notifier uses; tests may fake it)."""

    async def send(self, url: str, secret: str, body: bytes) -> CallbackResult: ...


def notice_body(delivery: CallbackDelivery) -> bytes:
    """The JSON body announcing one delivery."""
    return CallbackNotice(deliveries=[delivery]).model_dump_json(by_alias=True).encode()


def notice_for(
    delivery_id: str, submission_id: str, authority_id: str, notice: int, base_url: str
) -> CallbackDelivery:
    """The announcement of one delivery, for notice number ``notice``."""
    return CallbackDelivery(
        delivery_id=delivery_id,
        submission_id=submission_id,
        authority_id=authority_id,
        notice=notice,
        topic=topics.delivery_topic(authority_id),
        href=base_url.rstrip("/") + delivery_path(delivery_id),
    )


class HttpCallbackSender:
    """Real POSTs with httpx: no redirects followed, a timeout per attempt."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, url: str, secret: str, body: bytes) -> CallbackResult:
        headers = {
            "content-type": "application/json",
            **callback_headers(secret, int(time.time()), body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return CallbackResult(None, type(error).__name__)
        if response.is_success:
            return CallbackResult(response.status_code)
        return CallbackResult(response.status_code, f"HTTP {response.status_code}")
