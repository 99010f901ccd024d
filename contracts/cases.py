"""Cases (Vorgänge): what one application and everything that follows it belong to.

A case has its own id (FIT-Connect calls it ``caseId``). A submission sent over FIT-Connect
carries the case its sender announced; every other submission opens a case whose id is
derived from the submission's id, so the same submission always names the same case,
also in events recorded before cases were recorded.
"""

from __future__ import annotations

import uuid

_CASE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://amtsweg.de/fit-connect/cases")


def case_id_of(submission_id: str) -> str:
    """The case a submission opens when it names none (one submission, one case)."""
    return str(uuid.uuid5(_CASE_NAMESPACE, submission_id))
