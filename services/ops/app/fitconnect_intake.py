"""The FIT-Connect facade's intake port: a decrypted submission into Amtsweg's intake.

The same code path as ``POST /v1/submissions``: the metadata is checked against the
FIT-Connect schema and Amtsweg's model, the parts are sealed into the vault, their hashes
compared with the metadata's, and ``Received`` recorded once, under the FIT-Connect
submission id (a second handover of the same submission is a retry: nothing new). The
attachments arrive sealed already (decrypted as they streamed into the vault): the intake
adopts their blobs, or deletes them when it refuses the submission or has it already.
"""

from __future__ import annotations

import asyncio

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.handover import Handed, Handover, HandoverRefusedError, Intake
from services.intake.domain import IncomingSubmission
from services.intake.errors import ProblemError
from services.intake.metadata import parse_metadata
from services.intake.receive import Arrival, receive
from services.intake.sealing import PartSink
from services.intake.settings import IntakeSettings


def fit_connect_intake(ledger: Ledger, vault: Vault, settings: IntakeSettings) -> Intake:
    """The port, over this ledger and vault."""

    def hand_over(handover: Handover) -> Handed:
        submission_id = handover.submission_id
        recorded = ledger.exists(submission_id)
        sink = PartSink(vault, submission_id, keep=not recorded)
        attachments = {key: sink.adopt(part) for key, part in handover.attachments.items()}
        try:
            metadata = parse_metadata(handover.metadata, settings)
            data = sink.put(handover.data)
            incoming = IncomingSubmission(
                submission_id, metadata, handover.metadata, data, attachments, None
            )
            sealed = sink.seal_dossier(incoming)
        except ProblemError as problem:
            sink.discard()
            raise _refused(problem) from None
        arrival = Arrival(
            sealed,
            handover.portal_id,
            f"fit-connect:{submission_id}",
            handover.correlation_id,
            case_id=handover.case_id,
        )
        try:
            result = receive(ledger, vault, arrival)
        except ProblemError as problem:
            raise _refused(problem) from None
        return Handed(result.status, result.created)

    async def intake(handover: Handover) -> Handed:
        return await asyncio.to_thread(hand_over, handover)

    return intake


def _refused(problem: ProblemError) -> HandoverRefusedError:
    return HandoverRefusedError(
        problem.status, [p.model_dump(exclude_none=True) for p in problem.problems]
    )
