"""``GET /v1/submissions/{id}/confirmation``: the signed proof of receipt, for its portal.

The answer is the compact JWS itself (``application/jose``, ``contracts.confirmation``),
so the portal can store it or hand it to the applicant as it is; another portal's
submission, or an unknown one, is not found.
"""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from contracts.confirmation import CONFIRMATION_TYP, JOSE_MEDIA_TYPE
from events.ledger import Ledger
from services.intake.confirmation import ConfirmationPorts, confirmation_of
from services.intake.openapi import problem_responses

_EXAMPLE = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImFtdHN3ZWctMjAyNjAzMDEtMWEyYjNjNGQiLCJ0eXAiOiJhbXRz..."


def mount_confirmation(
    app: FastAPI,
    ports: ConfirmationPorts,
    ledger: Ledger,
    portal: Callable[..., str],
    owned: Callable[[UUID, str], Any],
) -> None:
    """Add the confirmation route; ``portal`` authenticates, ``owned`` finds the
    portal's own submission (or raises its not-found problem)."""

    def confirmation(submission_id: UUID, portal_id: str) -> str:
        owned(submission_id, portal_id)
        received = ledger.trail(submission_id)[0]
        claims = confirmation_of(
            submission_id, received, ports.case_of(submission_id), ports.issuer
        )
        return ports.sign(claims)

    @app.get(
        "/v1/submissions/{submission_id}/confirmation",
        response_class=Response,
        responses={
            200: {
                "description": "The proof of receipt (Eingangsbestätigung): a compact JWS, "
                f"header typ {CONFIRMATION_TYP!r}, signed with a key of GET /v1/keys.",
                "content": {JOSE_MEDIA_TYPE: {"schema": {"type": "string"}, "example": _EXAMPLE}},
            },
            **problem_responses(400, 401, 404),
        },
    )
    async def get_confirmation(
        submission_id: UUID, portal_id: Annotated[str, Depends(portal)]
    ) -> Response:
        """The signed proof that Amtsweg received this submission: when, which case and
        service, the SHA-512 and size of every part, and the chain hash of its ``Received``
        event; no personal data. Verify it offline with ``amtsweg portal verify-receipt``."""
        token = await run_in_threadpool(confirmation, submission_id, portal_id)
        return Response(token, media_type=JOSE_MEDIA_TYPE, headers={"Cache-Control": "no-store"})
