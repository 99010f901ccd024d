"""A ceiling for ``amtsweg bench pipeline``: Amtsweg's hops doing only the necessary work.

A submission over the Kafka intake crosses five topics in Amtsweg (``amtsweg.intake``,
``…submissions.received``, ``…validated``, ``…routed``, the authority's topic) between
four stages. The ceiling has as many, each stage doing its work with Amtsweg's own code:

1. take in: the intake message read as the Kafka intake reads it (JSON form, FIT-Connect
   metadata, base64), the parts' SHA-512 compared with the metadata;
2. validate: validation's decision (hardened parsing, the catalog's XSD, XÖV header,
   business rules) with the same catalog;
3. route: routing's decision with the same directory and key lists;
4. deliver: the envelope as delivery builds it, metadata and parts encrypted (JWE) to
   the authority's key (the directory's, else a development key), for the authority's topic.

Left out is what the guarantees cost: no ledger, no vault (the parts travel inside the
messages, the dossier beside them as JSON), no outbox or relay, no idempotence, no
signed envelopes, no portal check. A refused, rejected or unroutable submission ends on
the ``ended`` topic with its reason, as Amtsweg's end states have their topics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from contracts.submission import IntakeMessage
from events.dossier import Dossier
from harness.bench.payloads import AUTHORITY
from services.delivery.crypto import JweSealer
from services.delivery.dev_keys import DevelopmentKeys
from services.delivery.envelope import InlinePolicy, build_envelope, delivery_id_for
from services.delivery.recipients import Recipient, Recipients
from services.delivery.settings import DeliverySettings
from services.intake.domain import hash_problems, submission_id_for
from services.intake.errors import ProblemError
from services.intake.json_form import load_json_body, parse_json_form
from services.intake.settings import IntakeSettings
from services.routing.context import RoutingContext, Sources, build_context
from services.routing.decision import decide as decide_route
from services.routing.resolve import Routed
from services.routing.settings import RoutingSettings
from services.validation.catalog import SchemaCatalog, load_catalog
from services.validation.decide import Declared, Invalid, Limits
from services.validation.decide import decide as decide_validity
from services.validation.settings import ValidationSettings

PORTAL = "bench-portal"
"""The portal submission ids are derived for (``submission_id_for``), as the bench's."""


@dataclass(frozen=True)
class CeilingTopics:
    """The ceiling's own topics, named after a prefix unique to one run."""

    prefix: str

    @property
    def intake(self) -> str:
        """Where the bench produces intake messages."""
        return f"{self.prefix}.intake"

    def stage_topics(self) -> list[str]:
        """The topics between the stages, and ``ended``."""
        return [f"{self.prefix}.{name}" for name in ("received", "validated", "routed", "ended")]

    def after(self, stage: str) -> str:
        """The topic a stage produces to: ``received``, ``validated``, ``routed``, ``ended``."""
        return f"{self.prefix}.{stage}"

    def delivery(self, authority_id: str) -> str:
        """The authority's topic."""
        return f"{self.prefix}.delivery.{authority_id}"


@dataclass(frozen=True)
class Carried:
    """What travels between two stages: the dossier, what was decided, and the parts."""

    dossier: Dossier
    facts: dict[str, Any]
    parts: tuple[bytes, ...]
    """data first, then the attachments in the dossier's order"""

    def encode(self) -> bytes:
        """A 4-byte length, the JSON header, then the parts' bytes one after the other."""
        header = {
            "dossier": self.dossier.document(),
            "facts": self.facts,
            "sizes": [len(p) for p in self.parts],
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        return b"".join((len(head).to_bytes(4, "big"), head, *self.parts))

    @classmethod
    def decode(cls, value: bytes) -> Carried:
        """Read an encoded message back."""
        length = int.from_bytes(value[:4], "big")
        header = json.loads(value[4 : 4 + length])
        parts, at = [], 4 + length
        for size in header["sizes"]:
            parts.append(value[at : at + size])
            at += size
        return cls(Dossier.from_document(header["dossier"]), header["facts"], tuple(parts))

    def adding(self, **facts: Any) -> Carried:
        """The same message with more facts."""
        return replace(self, facts={**self.facts, **facts})


@dataclass(frozen=True)
class Output:
    """What a stage produces for one message: the topic and the value."""

    topic: str
    value: bytes


@dataclass(frozen=True)
class _Routed:
    """A routed submission as the envelope names it (``services.delivery.envelope.Addressed``)."""

    id: UUID
    authority_id: str | None
    service_identifier: str
    data: dict[str, Any]
    attachments: list[dict[str, Any]]


@dataclass
class CeilingWork:
    """The four stages' work, with what Amtsweg's stages decide with."""

    topics: CeilingTopics
    intake: IntakeSettings
    catalog: SchemaCatalog
    limits: Limits
    routing: RoutingContext
    recipients: Recipients
    inline: InlinePolicy
    _sealers: dict[str, JweSealer | None] = field(default_factory=dict)

    @classmethod
    def configured(cls, topics: CeilingTopics, keys_folder: Path) -> CeilingWork:
        """Catalog, directory and limits as Amtsweg's settings name them (environment)."""
        validation, routing, delivery = ValidationSettings(), RoutingSettings(), DeliverySettings()
        context = build_context(Sources.read(routing.directory, routing.regions, routing.postcodes))
        recipients = Recipients(
            (
                Recipient(
                    a.id, encryption_jwk=a.keys.encryption, verification_jwk=a.keys.verification
                )
                for a in context.directory.authorities
            ),
            development_keys=DevelopmentKeys(keys_folder),
        )
        return cls(
            topics,
            IntakeSettings(),
            load_catalog(validation.catalog, validation.regions),
            validation.limits(),
            context,
            recipients,
            InlinePolicy(delivery.inline_limit_bytes, delivery.inline_total_bytes),
        )

    def warm(self, authority_id: str = AUTHORITY) -> None:
        """Make the authority's sealer before the first message (a development key takes
        a tenth of a second)."""
        self._sealer(authority_id)

    def take_in(self, key: bytes, value: bytes) -> Output:
        """An intake message read and its hashes checked, or refused."""
        try:
            form = parse_json_form(load_json_body(value, self.intake), self.intake, IntakeMessage)
        except ProblemError as error:
            return self._ended("refused", [p.type for p in error.problems])
        incoming = form.incoming(submission_id_for(PORTAL, key.decode()))
        if problems := hash_problems(incoming):
            return self._ended("refused", [p.type for p in problems])
        order = sorted(incoming.attachments)  # the dossier's order of the attachments
        sealed = [
            {"blob": name, "sha512": part.sha512, "size": part.size}
            for name, part in (
                ("data", incoming.data),
                *((a, incoming.attachments[a]) for a in order),
            )
        ]
        facts = {
            "submissionId": str(incoming.submission_id),
            "serviceIdentifier": form.metadata.public_service_type.identifier,
            "leikaKey": form.metadata.public_service_type.leika_key,
            "receivedAt": datetime.now(UTC).isoformat(),
            "sealed": sealed,
        }
        parts = (form.data, *(form.attachments[a] for a in order))
        carried = Carried(incoming.dossier_of(), facts, parts)
        return Output(self.topics.after("received"), carried.encode())

    def validate(self, value: bytes) -> Output:
        """Validated (with the routing keys found in the data) or rejected."""
        carried = Carried.decode(value)
        dossier, facts = carried.dossier, carried.facts
        assert dossier.data.schema_uri is not None
        declared = Declared(
            leika_key=facts["leikaKey"],
            schema_uri=dossier.data.schema_uri,
            mime_type=dossier.data.mime_type,
            received_at=datetime.fromisoformat(facts["receivedAt"]),
            assurance=dossier.assurance,
        )
        outcome = decide_validity(self.catalog, declared, carried.parts[0], self.limits)
        if isinstance(outcome, Invalid):
            return self._ended("rejected", [p.type for p in outcome.problems])
        validated = carried.adding(routingKeys=outcome.routing_keys)
        return Output(self.topics.after("validated"), validated.encode())

    def route(self, value: bytes) -> Output:
        """Routed to the competent authority, or unroutable."""
        carried = Carried.decode(value)
        facts = carried.facts
        decision = decide_route(
            self.routing, facts["leikaKey"], carried.dossier.routing, facts["routingKeys"]
        )
        if not isinstance(decision.outcome, Routed):
            return self._ended("unroutable", [decision.outcome.reason_code])
        routed = carried.adding(authorityId=decision.outcome.authority_id)
        return Output(self.topics.after("routed"), routed.encode())

    def deliver(self, value: bytes) -> Output:
        """The envelope, encrypted to the authority, for its topic (none without a key)."""
        carried = Carried.decode(value)
        facts = carried.facts
        authority_id = facts["authorityId"]
        sealer = self._sealer(authority_id)
        if sealer is None:
            return self._ended("withheld", ["no-encryption-key"])
        sealed = facts["sealed"]
        submission = _Routed(
            UUID(facts["submissionId"]),
            authority_id,
            facts["serviceIdentifier"],
            sealed[0],
            sealed[1:],
        )
        contents = {
            part["blob"]: content for part, content in zip(sealed, carried.parts, strict=True)
        }
        envelope = build_envelope(
            submission,
            carried.dossier,
            delivery_id_for(submission.id, authority_id, 1),
            contents.__getitem__,
            inline=self.inline,
            now=datetime.now(UTC),
            sealer=sealer,
        )
        published = envelope.model_dump_json(by_alias=True, exclude_none=True).encode()
        return Output(self.topics.delivery(authority_id), published)

    def _sealer(self, authority_id: str) -> JweSealer | None:
        if authority_id not in self._sealers:
            recipient = self.recipients.get(authority_id)
            key = recipient.encryption_key() if recipient else None
            self._sealers[authority_id] = JweSealer(key) if key else None
        return self._sealers[authority_id]

    def _ended(self, outcome: str, reasons: list[str]) -> Output:
        value = json.dumps({"outcome": outcome, "reasons": reasons}).encode()
        return Output(self.topics.after("ended"), value)
