"""Problems a FIT-Connect client can hit, as RFC 7807 documents with stable ``type`` URIs.

The Submission API answers errors with its ``Error`` schema (``type``, ``title``,
``status``, ``detail``, ``instance``) as ``application/problem+json``. Where FITKO names a
problem (:data:`FITKO_SLUGS`), Amtsweg answers FITKO's type
(``https://schema.fitko.de/fit-connect/submission-api/problems/<slug>``: clients compare
against it, e.g. ``submission-not-found``); every other type is Amtsweg's own and starts
with ``https://amtsweg.de/problems/fit-connect/``.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contracts.problems import problem_type

PROBLEM_JSON = "application/problem+json"
FITKO_PROBLEMS = "https://schema.fitko.de/fit-connect/submission-api/problems/"
FITKO_SLUGS = frozenset(
    {
        "attachment-not-found",
        "case-not-found",
        "destination-not-found",
        "destination-state-invalid",
        "submission-not-found",
    }
)
"""The problems FITKO's Zustelldienst answers under :data:`FITKO_PROBLEMS`."""


def fit_connect_problem_type(slug: str) -> str:
    """The ``type`` URI of a problem answered on ``/fit-connect``."""
    return FITKO_PROBLEMS + slug if slug in FITKO_SLUGS else problem_type(f"fit-connect/{slug}")


class FitConnectProblemError(Exception):
    """A request on the FIT-Connect API failed for a reason the client is told."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.type = fit_connect_problem_type(slug)
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """The problem document."""
        document = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        return JSONResponse(
            document, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers
        )


def unauthorized(detail: str, error: str | None = "invalid_token") -> FitConnectProblemError:
    """401 with the RFC 6750 challenge (``error`` omitted when no token was sent)."""
    challenge = 'Bearer realm="fit-connect"' + (f', error="{error}"' if error else "")
    return FitConnectProblemError(
        401, "unauthorized", "Unauthorized", detail, {"WWW-Authenticate": challenge}
    )


def forbidden(detail: str) -> FitConnectProblemError:
    """403: the token is valid, its scopes do not allow this."""
    challenge = 'Bearer realm="fit-connect", error="insufficient_scope"'
    return FitConnectProblemError(
        403, "forbidden", "Forbidden", detail, {"WWW-Authenticate": challenge}
    )


def not_found(slug: str, title: str, detail: str) -> FitConnectProblemError:
    """404 for a resource of the FIT-Connect API."""
    return FitConnectProblemError(404, slug, title, detail)


def install_problem_handler(app: FastAPI) -> None:
    """Answer :class:`FitConnectProblemError` with its problem document."""

    async def on_problem(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FitConnectProblemError)
        return error.response()

    app.add_exception_handler(FitConnectProblemError, on_problem)
