"""Routing and delivery workers on TestKafkaBroker with a SQLite ledger."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import topics
from contracts.messages import SubmissionEventMessage
from events.dossier import seal_findings
from events.ledger import Ledger
from events.lifecycle import Status
from events.outbox import Outbound
from events.relay import Relay
from events.relay_store import relay_store
from events.submission import Submission
from events.vault import Vault
from receiver.keys import Decrypter
from services.delivery import handler as delivery
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings
from services.ops.actions.replay import plan_replay, record_replay
from services.ops.actions.replay_stages import Against, ReplayContext, Stage
from services.routing import handler as routing
from services.routing.archive import DirectoryArchive
from services.routing.settings import RoutingSettings
from services.runtime.settings import StageSettings
from services.validation.decide import Limits
from tests.support.authority import encryption_key
from tests.support.delivery import koeln, recipients
from tests.support.factories import sealed_submission
from tests.support.routing import national_context
from tests.support.validation import bundled_catalog

KOELN = "053150000000"
DATA = b"<x/>"


def _event(submission: Submission, name: str) -> bytes:
    message = SubmissionEventMessage(
        submission_id=str(submission.id),
        event=name,
        version=submission.version,
        timestamp=submission.created_on.isoformat(),
        hash=submission.chain_head,
    )
    return message.model_dump_json(by_alias=True).encode()


def _validated(
    ledger: Ledger,
    vault: Vault,
    hint: dict[str, str] | None,
    data_keys: dict[str, str] | None = None,
) -> Submission:
    """A validated submission: the hint in its sealed dossier, the data's keys sealed findings."""
    submission = sealed_submission(vault, DATA, routing=hint, chain=ledger.chain_keys)
    keys = data_keys or {}
    submission.validate("cat-1", "u", list(keys), seal_findings(vault, submission, keys))
    ledger.save(submission)
    return submission


def _routed(ledger: Ledger, vault: Vault) -> Submission:
    """A submission routed to Jobcenter Köln (not yet dispatched)."""
    submission = _validated(ledger, vault, {"ars": KOELN})
    ledger.execute(submission.id, lambda s: s.route("jobcenter-koeln", KOELN, KOELN, "dir-1"))
    return ledger.get_submission(submission.id)


def _delivery_worker(ledger: Ledger, vault: Vault, known: Recipients) -> KafkaBroker:
    broker = KafkaBroker()
    delivery.register(
        broker, ledger, vault, DeliverySettings(), known, stage_settings=StageSettings()
    )
    return broker


@dataclass
class Collected:
    """A publisher for the relay that keeps what it was given (the broker's view)."""

    sent: list[Outbound] = field(default_factory=list)

    async def send(self, outbound: Outbound) -> asyncio.Future[object]:
        self.sent.append(outbound)
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack

    def on(self, topic: str) -> list[Outbound]:
        return [o for o in self.sent if o.topic == topic]


async def _relay_all(relay: Relay) -> None:
    """Publish what the ledger holds beyond the relay's position."""
    while await relay.publish_batch():
        pass


def _opened(vault: Vault, submission: Submission) -> dict[str, Any]:
    """The envelope the relay publishes: sealed in the vault, referenced by Dispatched."""
    envelope = vault.envelope(submission.id, submission.envelope)
    assert envelope is not None
    document: dict[str, Any] = json.loads(envelope)
    return document


async def _publish(broker: KafkaBroker, *messages: tuple[bytes, str]) -> None:
    async with TestKafkaBroker(broker) as test_broker:
        for body, topic in messages:
            await test_broker.publish(body, topic)


@pytest.mark.parametrize(
    ("hint", "status", "authority"),
    [
        ({"ars": KOELN}, Status.ROUTED, "jobcenter-koeln"),
        ({"ags": "05315000"}, Status.ROUTED, "jobcenter-koeln"),
        ({"ars": "032410001001"}, Status.ROUTED, "jobcenter-region-hannover"),
        ({"ars": "091620000000"}, Status.ROUTED, "jobcenter-muenchen"),
        ({"postal_code": "30880"}, Status.ROUTED, "jobcenter-region-hannover"),  # Laatzen
        ({"ars": "039019999999"}, Status.UNROUTABLE, None),  # coastal waters: nobody there
        ({"ars": "999999999999"}, Status.UNROUTABLE, None),  # not a real key
        (None, Status.UNROUTABLE, None),
    ],
)
async def test_routing_decides_once(
    ledger: Ledger,
    vault: Vault,
    hint: dict[str, str] | None,
    status: Status,
    authority: str | None,
) -> None:
    submission = _validated(ledger, vault, hint)
    broker = KafkaBroker()
    routing.register(
        broker, ledger, vault, routing.load(RoutingSettings()), stage_settings=StageSettings()
    )
    body = _event(submission, "Validated")
    await _publish(broker, (body, topics.VALIDATED), (body, topics.VALIDATED))
    routed = ledger.get_submission(submission.id)
    assert routed.status is status
    assert routed.authority_id == authority
    assert routed.version == 3  # the redelivery changed nothing
    if status is Status.UNROUTABLE:
        assert routed.problems[0]["reason"]


@pytest.mark.parametrize(
    ("hint", "data_keys", "authority"),
    [
        (None, {"ags": "05315000", "postalCode": "50667"}, "jobcenter-koeln"),
        ({"ars": "032410001001"}, {"ars": KOELN}, "jobcenter-region-hannover"),  # hint wins
    ],
)
async def test_routing_uses_the_data_when_the_portal_gave_no_hint(
    ledger: Ledger,
    vault: Vault,
    hint: dict[str, str] | None,
    data_keys: dict[str, str],
    authority: str,
) -> None:
    submission = _validated(ledger, vault, hint, data_keys)
    broker = KafkaBroker()
    routing.register(
        broker, ledger, vault, routing.load(RoutingSettings()), stage_settings=StageSettings()
    )
    await _publish(broker, (_event(submission, "Validated"), topics.VALIDATED))
    assert ledger.get_submission(submission.id).authority_id == authority


async def test_delivery_dispatches_once_and_records_receipts(ledger: Ledger, vault: Vault) -> None:
    submission = routed = _routed(ledger, vault)
    # Köln has an encryption key (nothing goes out in plaintext) and, as in development,
    # no receipt-signing key: its unsigned receipts count.
    unsigned = Recipients(list(recipients(signed=False)), accept_unsigned_receipts=True)
    broker = _delivery_worker(ledger, vault, unsigned)
    await _publish(
        broker, (_event(routed, "Routed"), topics.ROUTED), (_event(routed, "Routed"), topics.ROUTED)
    )

    dispatched = ledger.get_submission(submission.id)
    assert dispatched.status is Status.DISPATCHED
    assert dispatched.version == 4
    reference = ledger.trail(submission.id)[-1].data["envelope"]
    assert set(reference) <= {"blob", "sha256", "kid"}  # a reference: no content in the event
    envelope = _opened(vault, dispatched)
    assert Decrypter(encryption_key()).decrypt(envelope["data"]["content"]) == DATA
    assert envelope["deliveryId"] == dispatched.delivery_id

    def receipt(**overrides: str) -> tuple[bytes, str]:
        body = {
            "deliveryId": dispatched.delivery_id,
            "submissionId": str(submission.id),
            "authorityId": "jobcenter-koeln",
            "outcome": "accepted",
        } | overrides
        return json.dumps(body).encode(), topics.RECEIPTS

    await _publish(
        broker,
        (b"\xff not json", topics.RECEIPTS),  # malformed: skipped, does not block
        receipt(authorityId="jobcenter-region-hannover"),  # not the addressee: refused
        receipt(deliveryId="00000000-0000-0000-0000-000000000000"),  # another delivery: refused
        receipt(),
        receipt(outcome="rejected"),  # a second receipt changes nothing
    )
    final = ledger.get_submission(UUID(str(submission.id)))
    assert final.status is Status.ACCEPTED
    trail = ledger.trail(submission.id)
    assert [e.event for e in trail][3:] == [
        "Dispatched",
        "ReceiptRefused",
        "ReceiptRefused",
        "Accepted",
    ]
    assert [e.data["reason"] for e in trail[4:6]] == ["wrong-authority", "other-delivery"]
    assert final.version == 7


async def test_without_an_encryption_key_delivery_is_withheld_until_a_replay_after_the_key(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    routed = _routed(ledger, vault)
    authority_topic = topics.delivery_topic("jobcenter-koeln")
    broker = _delivery_worker(ledger, vault, Recipients([koeln(encrypted=False)]))
    handed: list[bytes] = []

    @broker.subscriber(authority_topic)
    async def authority(body: bytes) -> None:  # what the authority would read
        handed.append(body)

    body = _event(routed, "Routed")
    await _publish(broker, (body, topics.ROUTED), (body, topics.ROUTED))

    withheld = ledger.get_submission(routed.id)
    assert withheld.status is Status.WITHHELD
    assert withheld.version == 4  # the redelivery changed nothing
    assert withheld.delivery_id is None
    last = ledger.trail(routed.id)[-1]
    assert last.event == "Withheld"
    assert last.data == {"authority_id": "jobcenter-koeln", "reason": "no-encryption-key"}
    assert withheld.problems == [{"reason": "no-encryption-key", "authorityId": "jobcenter-koeln"}]
    published = Collected()
    relay = Relay(ledger, relay_store(ledger.settings), published, envelopes=vault.envelope)
    await _relay_all(relay)
    assert [o.topic for o in published.sent][-1] == topics.submission_event_topic("Withheld")
    assert all(o.topic.startswith(topics.SUBMISSION_EVENTS_PREFIX) for o in published.sent)
    assert published.on(authority_topic) == []
    assert handed == []

    # Operations register Köln's key, then replay delivery against the current recipients.
    context = ReplayContext(
        vault,
        bundled_catalog,
        Limits(),
        national_context,
        DirectoryArchive(tmp_path / "directories").load,
        DeliverySettings(),
        recipients(),
    )
    plan = plan_replay(ledger, context, routed.id, Stage.DELIVERY, Against.CURRENT)
    assert plan.outcome == "changed"
    assert plan.recorded == "withheld from jobcenter-koeln: no-encryption-key"
    assert plan.events == ["Replayed", "Dispatched"]
    assert ledger.trail(routed.id)[-1].event == "Withheld"  # planning records nothing
    assert record_replay(ledger, plan, actor="erika", reason="key registered", request_id="r-1")
    assert not record_replay(
        ledger, plan, actor="erika", reason="key registered", request_id="r-1"
    )  # the same request again: nothing new

    dispatched = ledger.get_submission(routed.id)
    assert dispatched.status is Status.DISPATCHED
    trail = ledger.trail(routed.id)
    assert [e.event for e in trail][3:] == ["Withheld", "Replayed", "Dispatched"]
    assert (trail[4].data["actor"], trail[4].data["outcome"]) == ("erika", "changed")
    assert trail[-1].data["authority_id"] == "jobcenter-koeln"
    assert dispatched.problems == []
    assert ledger.verify(routed.id) is None

    await _relay_all(relay)
    (delivered,) = published.on(authority_topic)
    assert delivered.value == vault.envelope(routed.id, dispatched.envelope)
    envelope = json.loads(delivered.value)
    assert envelope["deliveryId"] == dispatched.delivery_id
    assert Decrypter(encryption_key()).decrypt(envelope["data"]["content"]) == DATA
