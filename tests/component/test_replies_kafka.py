"""Replies on the receipts topic (TestKafkaBroker), and the relay taking them to the portal."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import replies, topics
from contracts.envelope_signature import SIGNATURE_HEADER, keys_by_id, verify_envelope
from contracts.replies import ReplyEnvelope
from events.ledger import Ledger
from events.outbox import Outbound
from events.relay import Relay
from events.relay_store import relay_store
from events.submission import Submission
from events.vault import Vault
from services.delivery import handler as delivery
from services.delivery.recipients import Recipients
from services.runtime.portals import Portals
from services.runtime.settings import StageSettings
from tests.support.authority import KOELN, amtsweg_signer
from tests.support.delivery import recipients, settings
from tests.support.replies import delivered, encoded, part, reply, request, signed

REPLY_HEADER = {replies.MESSAGE_HEADER: replies.REPLY}


async def _publish(
    known: Recipients, ledger: Ledger, vault: Vault, *messages: tuple[bytes, dict[str, str]]
) -> None:
    broker = KafkaBroker()
    delivery.register(
        broker,
        ledger,
        vault,
        settings(),
        known,
        stage_settings=StageSettings(),
        portals=Portals({}),
    )
    async with TestKafkaBroker(broker) as test_broker:
        for body, headers in messages:
            await test_broker.publish(body, topics.RECEIPTS, headers=headers)


def _events(ledger: Ledger, submission: Submission) -> list[str]:
    return [e.event for e in ledger.trail(submission.id)[4:]]


async def test_replies_on_the_receipts_topic_count_and_bad_ones_block_nothing(
    ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known)
    receipt = {
        "deliveryId": submission.delivery_id,
        "submissionId": str(submission.id),
        "authorityId": KOELN,
        "outcome": "accepted",
    }
    await _publish(
        known,
        ledger,
        vault,
        (b"\xff not a reply", REPLY_HEADER),  # malformed: logged, skipped
        (signed(reply(submission), key="intruder"), REPLY_HEADER),  # forged: nothing
        (signed(reply(submission, parts=[{**part(), "hash": part(b"x")["hash"]}])), {}),
        (encoded(reply(submission)), REPLY_HEADER),  # unsigned, but Köln has a key
        (signed(request(submission)), REPLY_HEADER),
        (signed(receipt), {}),  # a receipt between replies still counts
        (signed(reply(submission, kind="status", subject="In Bearbeitung", parts=[])), {}),
        (signed(reply(submission, kind="status", subject="In Bearbeitung", parts=[])), {}),
    )
    assert _events(ledger, submission) == ["Replied", "Accepted", "Replied"]
    final = ledger.get_submission(submission.id)
    assert list(final.replies) == ["q-1", "r-1"]
    assert final.replies["r-1"].kind == "status"


@dataclass
class Collecting:
    """A publisher that keeps what the relay sends."""

    sent: list[Outbound] = field(default_factory=list)

    async def send(self, outbound: Outbound) -> asyncio.Future[object]:
        self.sent.append(outbound)
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack


async def test_the_relay_publishes_the_sealed_envelope_to_the_portals_topic_signed(
    ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = delivered(ledger, vault, known)
    await _publish(known, ledger, vault, (signed(reply(submission)), REPLY_HEADER))
    publisher = Collecting()
    signer = amtsweg_signer()
    relay = Relay(
        ledger,
        relay_store(ledger.settings),
        publisher,
        envelopes=vault.envelope,
        sign_envelopes=signer.sign,
    )
    await relay.publish_batch()
    portal = topics.portal_topic("portal-a")
    [outbound] = [o for o in publisher.sent if o.topic == portal]
    assert outbound.key == str(submission.id).encode()
    headers = dict(outbound.headers)
    assert headers[replies.MESSAGE_HEADER] == replies.REPLY.encode()
    by_id = keys_by_id(signer.jwks())
    assert verify_envelope(outbound.value, headers[SIGNATURE_HEADER].decode(), by_id)
    replied = ledger.trail(submission.id)[-1].data
    assert outbound.value == vault.envelope(submission.id, replied["envelope"])
    envelope = ReplyEnvelope.model_validate_json(outbound.value)
    assert (envelope.reply_id, envelope.kind, envelope.signed) == ("r-1", "decision", True)
    notice = next(
        o for o in publisher.sent if o.topic == topics.SUBMISSION_EVENTS_PREFIX + "replied"
    )
    assert b"Bescheid" not in notice.value  # the ledger's notice holds facts, not content
    assert json.loads(notice.value)["event"] == "Replied"
