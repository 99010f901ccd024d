"""Complete, hash-chained trails of made-up submissions, for ledgers of any size.

Each trail is what the pipeline records for a submission that went one of five ways,
drawn by weight: delivered and accepted (Received, Validated, Routed, Dispatched,
Accepted), still awaiting the authority's receipt (no Accepted), refused by the authority,
rejected by validation (Received, Rejected), or unroutable (Received, Validated,
Unroutable). Portals, services, authorities and regions come from the bundled directory,
times from the months given. The events are the ledger's own classes, hashed exactly as
``Submission`` hashes them (``events.chain.ChainLink``, under the ledger's active chain
key), so ``amtsweg verify`` holds them intact. They hold facts and vault references only;
the references name no stored content (nothing is sealed in the vault).
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.utils import get_topic

from contracts.cases import case_id_of
from contracts.topics import delivery_topic
from events.chain import GENESIS, ChainLink
from events.submission import Submission
from services.routing.settings import RoutingSettings

PORTALS = ("portal-bund", "portal-nrw", "portal-by", "portal-bw", "portal-ni", "portal-st")
CATALOG_VERSION = "catalog-bench-1"
SCHEMA_URI = "urn:xoev-de:xdomea:schema:3.0.0"
OUTCOMES: tuple[tuple[str, int], ...] = (
    ("accepted", 80),
    ("dispatched", 8),
    ("refused", 3),
    ("rejected", 5),
    ("unroutable", 4),
)
"""How a made-up submission ends, and how often (weights)."""
_S = Submission
_EventClass = type[Submission.Event]
_TOPIC = get_topic(Submission)


@dataclass(frozen=True)
class Competence:
    """One authority's service in one area of the bundled directory."""

    authority_id: str
    service: str
    area: str
    competence_id: str
    topic: str
    """The authority's delivery topic."""


def competences() -> tuple[list[Competence], str]:
    """The bundled directory's competences and its version label."""
    document = json.loads(RoutingSettings().directory.read_text(encoding="utf-8"))
    found = [
        Competence(
            c["authority"],
            service,
            c["area"],
            f"{c['authority']}/{service}/{c['area']}",
            delivery_topic(c["authority"]),
        )
        for c in document["competences"]
        for service in c["services"]
        if service.isdigit()
    ]
    return found, str(document["version"])


class TrailMaker:
    """Makes one submission's events at a time, from a seeded random generator."""

    def __init__(self, seed: int, chain_kid: str | None, chain_key: bytes | None) -> None:
        self._random = random.Random(seed)  # noqa: S311 - made-up data, not secrets
        self._competences, self._directory_version = competences()
        self._chain_kid = chain_kid
        self._key = chain_key
        outcomes, weights = zip(*OUTCOMES, strict=True)
        self._outcomes: tuple[str, ...] = outcomes
        self._weights: tuple[int, ...] = weights

    def trail(self, received_at: datetime) -> list[Submission.Event]:
        """A new submission's events, the first at ``received_at``."""
        draw = self._random
        submission_id = uuid.UUID(int=draw.getrandbits(128), version=4)
        competence = draw.choice(self._competences)
        outcome = draw.choices(self._outcomes, self._weights)[0]
        chain = _Chain(submission_id, received_at, self._key, lambda: draw.uniform(1, 900))
        chain.add(_S.Received, self._received(submission_id, competence))
        if outcome == "rejected":
            problems = [{"type": "https://amtsweg.de/problems/schema-violation", "line": 7}]
            chain.add(_S.Rejected, {"catalog_version": CATALOG_VERSION, "problems": problems})
            return chain.events
        chain.add(_S.Validated, self._validated(submission_id))
        if outcome == "unroutable":
            chain.add(_S.Unroutable, self._unroutable(competence))
            return chain.events
        chain.add(_S.Routed, self._routed(competence))
        delivery_id = str(uuid.UUID(int=draw.getrandbits(128), version=4))
        chain.add(_S.Dispatched, self._dispatched(delivery_id, competence))
        if outcome == "accepted":
            reference = f"AZ-{draw.randrange(10**8):08d}"
            accepted = {"delivery_id": delivery_id, "reference": reference, "signed_receipt": None}
            chain.add(_S.Accepted, accepted, later=draw.uniform(3600, 5 * 86400))
        elif outcome == "refused":
            problems = [{"type": "https://amtsweg.de/problems/refused", "detail": "unvollständig"}]
            fields: dict[str, Any] = {
                "delivery_id": delivery_id,
                "outcome": "rejected",
                "problems": problems,
                "signed_receipt": None,
            }
            chain.add(_S.RefusedByAuthority, fields, later=draw.uniform(3600, 5 * 86400))
        return chain.events

    def _received(self, submission_id: uuid.UUID, competence: Competence) -> dict[str, Any]:
        draw = self._random
        folder = str(submission_id)
        attachments = [self._part(folder) for _ in range(draw.choice((0, 0, 1, 2)))]
        return {
            "portal_id": draw.choice(PORTALS),
            "service_identifier": f"urn:de:fim:leika:leistung:{competence.service}",
            "leika_key": competence.service,
            "dossier": f"{folder}/{draw.getrandbits(128):032x}",
            "data": self._part(folder),
            "attachments": attachments,
            "request_digest": f"{draw.getrandbits(256):064x}",
            "correlation_id": f"{draw.getrandbits(64):016x}",
            "chain_kid": self._chain_kid,
            "case_id": case_id_of(folder),
        }

    def _part(self, folder: str) -> dict[str, Any]:
        draw = self._random
        return {
            "blob": f"{folder}/{draw.getrandbits(128):032x}",
            "sha512": f"{draw.getrandbits(512):0128x}",
            "size": draw.randrange(2_000, 2_000_000),
        }

    def _validated(self, submission_id: uuid.UUID) -> dict[str, Any]:
        return {
            "catalog_version": CATALOG_VERSION,
            "schema_uri": SCHEMA_URI,
            "routing_keys": ["ars"],
            "findings": f"{submission_id}/{self._random.getrandbits(128):032x}",
        }

    def _routed(self, competence: Competence) -> dict[str, Any]:
        region = competence.area.ljust(12, "0")
        return {
            "authority_id": competence.authority_id,
            "region": region,
            "area": competence.area,
            "directory_version": self._directory_version,
            "competence": competence.competence_id,
            "resolution": {"source": "hint", "key": "ars", "value": region},
        }

    def _unroutable(self, competence: Competence) -> dict[str, Any]:
        return {
            "reason": "no-competence",
            "detail": f"no authority handles {competence.service} in 999990000000",
            "directory_version": self._directory_version,
            "resolution": {"source": "hint", "key": "ars", "value": "999990000000"},
        }

    def _dispatched(self, delivery_id: str, competence: Competence) -> dict[str, Any]:
        envelope = {
            "blob": f"envelopes/{delivery_id}",
            "sha256": hashlib.sha256(delivery_id.encode()).hexdigest(),
        }
        return {
            "delivery_id": delivery_id,
            "authority_id": competence.authority_id,
            "topic": competence.topic,
            "envelope": envelope,
        }


class _Chain:
    """One submission's events so far, each hashed onto its predecessor as
    ``Submission._append`` does."""

    def __init__(
        self,
        submission_id: uuid.UUID,
        start: datetime,
        key: bytes | None,
        pause: Callable[[], float],
    ) -> None:
        self.events: list[Submission.Event] = []
        self._id = submission_id
        self._at = start
        self._key = key
        self._pause = pause
        self._head = GENESIS

    def add(self, kind: _EventClass, fields: dict[str, Any], later: float | None = None) -> None:
        if self.events:
            self._at += timedelta(seconds=self._pause() if later is None else later)
        version = len(self.events) + 1
        link = ChainLink(str(self._id), version, kind.__name__, self._at, self._head, fields)
        digest = link.digest(self._key)
        extra = {"originator_topic": _TOPIC} if kind is _S.Received else {}
        event = kind(  # type: ignore[call-arg]
            originator_id=self._id,
            originator_version=version,
            timestamp=self._at,
            prev_hash=self._head,
            hash=digest,
            **extra,
            **fields,
        )
        self.events.append(event)
        self._head = digest
