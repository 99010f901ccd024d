"""Validation worker: ``amtsweg.submissions.received`` → Validated | Rejected."""

from __future__ import annotations

from uuid import UUID

import structlog
from faststream.kafka import KafkaBroker

from contracts import topics
from events.dossier import Dossier, seal_findings
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.runtime.batch import Outcome, Step, perform_one
from services.runtime.settings import StageSettings
from services.runtime.worker import BatchWorker, subscription
from services.validation.catalog import SchemaCatalog
from services.validation.decide import Declared, Limits, Valid, decide

log = structlog.get_logger(__name__)

GROUP = "amtsweg-validation"


def validate_submission(
    ledger: Ledger, vault: Vault, catalog: SchemaCatalog, submission_id: UUID, limits: Limits
) -> bool:
    """Validate one submission; False if it was already decided (a repeated message)."""
    outcome = perform_one(ledger, submission_id, validation_step(vault, catalog, limits))
    return outcome is not None and outcome.changed


def validation_step(vault: Vault, catalog: SchemaCatalog, limits: Limits) -> Step:
    """Validated or Rejected for a received submission; None once it is decided."""

    def step(submission: Submission) -> Outcome | None:
        if submission.status is not Status.RECEIVED or submission.content_erased:
            return None
        dossier = Dossier.of(vault, submission)
        assert dossier.data.schema_uri is not None
        declared = Declared(
            leika_key=submission.leika_key,
            schema_uri=dossier.data.schema_uri,
            mime_type=dossier.data.mime_type,
            received_at=submission.created_on,
            assurance=dossier.assurance,
        )
        data = vault.read(submission.id, submission.data["blob"])
        outcome = decide(catalog, declared, data, limits)
        if isinstance(outcome, Valid):
            changed = submission.validate(
                outcome.catalog_version,
                outcome.schema_uri,
                list(outcome.routing_keys),
                seal_findings(vault, submission, outcome.routing_keys),
            )
        else:
            problems = [p.model_dump(exclude_none=True) for p in outcome.problems]
            changed = submission.reject(outcome.catalog_version, problems)
        return Outcome(
            "validation.decided",
            changed,
            {
                "outcome": "validated" if isinstance(outcome, Valid) else "rejected",
                "catalog_version": outcome.catalog_version,
            },
        )

    return step


def register(
    broker: KafkaBroker,
    ledger: Ledger,
    vault: Vault,
    catalog: SchemaCatalog,
    limits: Limits,
    *,
    stage_settings: StageSettings,
) -> None:
    """Subscribe the validation worker to the broker (batches, one ledger transaction each)."""
    step = validation_step(vault, catalog, limits)
    broker.subscriber(
        topics.RECEIVED,
        group_id=GROUP,
        auto_offset_reset="earliest",
        **subscription(stage_settings),
    )(BatchWorker(ledger, "validation", lambda _message: step).handle)
