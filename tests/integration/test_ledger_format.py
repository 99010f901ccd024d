"""A ledger written before content left the events is refused, with what to do; a new one is not.

The old format is made here as it was stored: the first ``Received`` event holding the
portal's metadata, routing hint and idempotency key, and no dossier.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from events.ledger import Ledger, LedgerFormatError
from events.settings import LedgerSettings
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase


def _as_before(settings: LedgerSettings, submission_id: Any) -> None:
    raw = RawDatabase(settings)
    where = "WHERE originator_id = ? AND originator_version = 1"
    ((state,),) = raw.execute(f"SELECT state FROM {raw.table} {where}", (raw.key(submission_id),))
    document: dict[str, Any] = json.loads(bytes(state))
    document.pop("dossier")
    document |= {
        "metadata": {"replyChannel": {"eMail": {"address": "erika@example.org"}}},
        "routing_hint": {"postal_code": "51147"},
        "idempotency_key": None,
    }
    raw.execute(
        f"UPDATE {raw.table} SET state = ? {where}",
        (json.dumps(document).encode(), raw.key(submission_id)),
    )


def test_an_old_ledger_is_refused_with_the_way_out(
    ledger: Ledger, ledger_settings: LedgerSettings
) -> None:
    submission = new_submission()
    ledger.save(submission)
    ledger.check_format()  # the new format passes
    _as_before(ledger_settings, submission.id)

    with pytest.raises(LedgerFormatError, match="before content left the ledger") as refused:
        ledger.check_format()
    assert "new ledger" in str(refused.value)


def test_an_empty_ledger_passes(ledger: Ledger) -> None:
    ledger.check_format()
