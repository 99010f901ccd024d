"""Rerouting on TestKafkaBroker: "not responsible" forwards, triage assigns, another
Amtsweg instance takes a submission on (its intake app in-process, over ASGI)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import topics
from contracts.messages import SubmissionEventMessage
from events.dossier import Dossier
from events.ledger import Ledger
from events.lifecycle import Status
from events.settings import LedgerSettings
from events.vault import Vault, local_vault
from services.delivery import handler as delivery
from services.delivery.handover import HandoverUnavailableError, handover_client, post_handover
from services.delivery.recipients import Recipient, Recipients
from services.delivery.settings import DeliverySettings
from services.intake.auth import token_hash
from services.intake.domain import submission_id_for
from services.intake.http import create_app
from services.intake.settings import IntakeSettings
from services.ops.actions.triage import UnknownAuthorityError, assign, triage_queue
from services.routing import handler as routing
from services.routing.context import RoutingContext, build_context
from services.runtime.settings import StageSettings
from tests.support.authority import encryption_key, public
from tests.support.factories import BUERGERGELD, sealed_submission, xdomea_sample
from tests.support.routing import authority, bundled_sources, write_directory

KOELN = "053150000000"
WERNIGERODE = "150850370370"
HANDOVER_TOKEN = "token-of-nrw-at-st"
ATTACHMENT = b"%PDF-1.7 Mietvertrag (synthetic)"
ATTACHMENT_ID = str(uuid.UUID(int=7))


def _context(tmp_path: Path) -> RoutingContext:
    """Köln: the Jobcenter, then the Regionaldirektion for all of NRW; ST: another instance."""
    document = {
        "version": "rerouting",
        "services": {BUERGERGELD: "Bürgergeld"},
        "authorities": [
            authority("jobcenter-koeln"),
            authority("regionaldirektion-nrw"),
            authority(
                "amtsweg-st",
                "15",
                amtsweg={"url": "https://amtsweg.st.example", "portalId": "amtsweg-nrw"},
            ),
        ],
        "competences": [
            {"authority": "jobcenter-koeln", "services": [BUERGERGELD], "area": "05315"},
            {"authority": "regionaldirektion-nrw", "services": [BUERGERGELD], "area": "05"},
            {"authority": "amtsweg-st", "services": [BUERGERGELD], "area": "15"},
        ],
    }
    return build_context(bundled_sources(write_directory(tmp_path, document)))


def _recipients(token: str = HANDOVER_TOKEN) -> Recipients:
    key = json.dumps(public(encryption_key()))
    return Recipients(
        [
            Recipient("jobcenter-koeln", encryption_jwk=key),
            Recipient("regionaldirektion-nrw", encryption_jwk=key),
            Recipient(
                "amtsweg-st",
                handover_url="https://amtsweg.st.example",
                handover_portal="amtsweg-nrw",
                handover_token=token,
            ),
        ],
        accept_unsigned_receipts=True,  # as in development: the authorities have no keys
    )


def _message(ledger: Ledger, submission_id: UUID, event: str | None = None) -> bytes:
    """The last event as the relay would publish it (``event``: a redelivered earlier one)."""
    last = ledger.trail(submission_id)[-1]
    message = SubmissionEventMessage(
        submission_id=str(submission_id),
        event=event or last.event,
        version=last.version,
        timestamp=last.timestamp,
        hash=last.hash,
    )
    return message.model_dump_json(by_alias=True).encode()


def _receipt(ledger: Ledger, submission_id: UUID, outcome: str = "not-responsible") -> bytes:
    submission = ledger.get_submission(submission_id)
    return json.dumps(
        {
            "deliveryId": submission.delivery_id,
            "submissionId": str(submission_id),
            "authorityId": submission.authority_id,
            "outcome": outcome,
        }
    ).encode()


def _validated(ledger: Ledger, vault: Vault, ars: str) -> UUID:
    submission = sealed_submission(
        vault,
        xdomea_sample(),
        attachments=[(ATTACHMENT_ID, ATTACHMENT)],
        routing={"ars": ars},
        chain=ledger.chain_keys,
    )
    submission.validate("cat-1", "urn:xoev-de:xdomea:schema:3.0.0")
    ledger.save(submission)
    return submission.id


class Pipeline:
    """Routing and delivery workers on one test broker; ``step`` publishes like the relay."""

    def __init__(self, ledger: Ledger, vault: Vault, context: RoutingContext, **kw: Any) -> None:
        self.ledger = ledger
        self.broker = KafkaBroker()
        routing.register(self.broker, ledger, vault, context, stage_settings=StageSettings())
        delivery.register(
            self.broker,
            ledger,
            vault,
            DeliverySettings(),
            _recipients(),
            stage_settings=StageSettings(),
            **kw,
        )

    async def step(self, submission_id: UUID, topic: str, body: bytes | None = None) -> str:
        async with TestKafkaBroker(self.broker) as test_broker:
            await test_broker.publish(body or _message(self.ledger, submission_id), topic)
        return self.ledger.trail(submission_id)[-1].event


async def test_not_responsible_forwards_to_the_next_level_then_triage_assigns(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    pipeline = Pipeline(ledger, vault, _context(tmp_path))
    submission_id = _validated(ledger, vault, KOELN)

    assert await pipeline.step(submission_id, topics.VALIDATED) == "Routed"
    assert await pipeline.step(submission_id, topics.ROUTED) == "Dispatched"
    first = ledger.get_submission(submission_id).delivery_id
    receipt = _receipt(ledger, submission_id)
    assert await pipeline.step(submission_id, topics.RECEIPTS, receipt) == "Declined"
    assert await pipeline.step(submission_id, topics.DECLINED) == "Forwarded"
    assert await pipeline.step(submission_id, topics.FORWARDED) == "Dispatched"
    second = ledger.get_submission(submission_id)
    assert (second.authority_id, second.status) == ("regionaldirektion-nrw", Status.DISPATCHED)
    assert second.delivery_id != first
    assert await pipeline.step(submission_id, topics.RECEIPTS, receipt) == "Dispatched"  # again
    redelivered = _message(ledger, submission_id, "Declined")
    assert await pipeline.step(submission_id, topics.DECLINED, redelivered) == "Dispatched"

    receipt = _receipt(ledger, submission_id)
    assert await pipeline.step(submission_id, topics.RECEIPTS, receipt) == "Declined"
    assert await pipeline.step(submission_id, topics.DECLINED) == "Unroutable"  # nobody left
    [waiting] = triage_queue(ledger)
    assert waiting.submission_id == str(submission_id)
    assert waiting.reason == "no-competence"
    assert waiting.declined_by == ("jobcenter-koeln", "regionaldirektion-nrw")
    assert "apart from those that declined" in waiting.detail

    directory = _context(tmp_path).directory
    with pytest.raises(UnknownAuthorityError):
        assign(ledger, directory, submission_id, "jobcenter-bonn", by="erika", reason="x")
    reason = "Rücksprache: Köln ist doch zuständig"
    assert assign(ledger, directory, submission_id, "jobcenter-koeln", by="erika", reason=reason)
    assert triage_queue(ledger) == []
    assert await pipeline.step(submission_id, topics.ASSIGNED) == "Dispatched"
    third = ledger.get_submission(submission_id)
    assert third.delivery_id not in (first, second.delivery_id)
    accepted = _receipt(ledger, submission_id, "accepted")
    assert await pipeline.step(submission_id, topics.RECEIPTS, accepted) == "Accepted"

    trail = ledger.trail(submission_id)
    assert [e.event for e in trail] == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "Declined",
        "Forwarded",
        "Dispatched",
        "Declined",
        "Unroutable",
        "Assigned",
        "Dispatched",
        "Accepted",
    ]
    assigned = trail[9].data
    assert (assigned["by"], assigned["reason"]) == ("erika", reason)
    assert assigned["directory_version"] == directory.version
    assert trail[5].data["excluded"] == ["jobcenter-koeln"]
    assert ledger.verify(submission_id) is None


def _other_instance(tmp_path: Path) -> tuple[Ledger, Vault, httpx.ASGITransport]:
    ledger = Ledger(LedgerSettings(data_dir=tmp_path / "st"))
    vault = local_vault(tmp_path / "st" / "vault")
    settings = IntakeSettings(portal_tokens={"amtsweg-nrw": token_hash(HANDOVER_TOKEN)})
    return ledger, vault, httpx.ASGITransport(app=create_app(ledger, vault, settings))


async def test_a_submission_is_handed_over_to_another_instance_once(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    remote, remote_vault, transport = _other_instance(tmp_path)
    try:
        pipeline = Pipeline(ledger, vault, _context(tmp_path), handover_transport=transport)
        submission_id = _validated(ledger, vault, WERNIGERODE)
        assert await pipeline.step(submission_id, topics.VALIDATED) == "Routed"
        assert await pipeline.step(submission_id, topics.ROUTED) == "HandedOver"
        assert await pipeline.step(submission_id, topics.ROUTED) == "HandedOver"  # again

        handed = ledger.trail(submission_id)[-1].data
        remote_id = UUID(handed["remote_submission_id"])
        received = remote.get_submission(remote_id)
        ours = ledger.get_submission(submission_id)
        assert ours.status is Status.HANDED_OVER
        assert handed["url"] == "https://amtsweg.st.example"
        assert received.portal_id == "amtsweg-nrw"
        # one trail across both: the remote id is the one our delivery id as key gives
        assert remote_id == submission_id_for("amtsweg-nrw", handed["delivery_id"])
        assert received.correlation_id == ours.correlation_id
        theirs = Dossier.of(remote_vault, received)
        assert theirs.routing == {"ars": WERNIGERODE}
        assert theirs.metadata == Dossier.of(vault, ours).metadata
        assert remote_vault.read(remote_id, received.data["blob"]) == xdomea_sample()
        sent = [remote_vault.read(remote_id, a["blob"]) for a in received.attachments]
        assert sent == [ATTACHMENT]

        # Posted again (a crash before the event was saved): the same remote submission.
        recipient = _recipients().get("amtsweg-st")
        assert recipient is not None
        async with handover_client(DeliverySettings(), transport) as client:
            again = await post_handover(client, recipient, ours, vault, handed["delivery_id"])
        assert again.remote_submission_id == str(remote_id)
        assert len(list(remote.submission_ids())) == 1
    finally:
        remote.close()


async def test_a_refused_handover_goes_to_triage(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    remote, _, transport = _other_instance(tmp_path)
    try:
        broker = KafkaBroker()
        routing.register(broker, ledger, vault, _context(tmp_path), stage_settings=StageSettings())
        wrong = _recipients(token="not-the-token")
        delivery.register(
            broker,
            ledger,
            vault,
            DeliverySettings(),
            wrong,
            stage_settings=StageSettings(),
            handover_transport=transport,
        )
        submission_id = _validated(ledger, vault, WERNIGERODE)
        routing.route_submission(ledger, vault, _context(tmp_path), submission_id)
        async with TestKafkaBroker(broker) as test_broker:
            await test_broker.publish(_message(ledger, submission_id), topics.ROUTED)
    finally:
        remote.close()

    refused = ledger.trail(submission_id)[-1]
    assert refused.event == "HandoverRefused"
    assert refused.data["status_code"] == 401
    assert refused.data["reason"] == "HTTP 401 unauthorized: Unauthorized"
    [waiting] = triage_queue(ledger)
    assert (waiting.submission_id, waiting.reason) == (str(submission_id), "handover-refused")


async def test_an_unreachable_instance_is_tried_again(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    submission_id = _validated(ledger, vault, WERNIGERODE)
    routing.route_submission(ledger, vault, _context(tmp_path), submission_id)

    with pytest.raises(HandoverUnavailableError, match="ConnectError"):
        await delivery.deliver(
            ledger,
            vault,
            DeliverySettings(),
            submission_id,
            _recipients(),
            transport=httpx.MockTransport(unreachable),
        )
    assert ledger.get_submission(submission_id).status is Status.ROUTED  # nothing recorded
