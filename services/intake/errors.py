"""Errors a portal can hit, each mapped to an RFC 7807 problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.problems import Problem


class ProblemError(Exception):
    """A request failed for a reason the portal must be told about."""

    def __init__(
        self, status: int, problems: list[Problem], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(problems[0].title if problems else str(status))
        self.status = status
        self.problems = problems
        self.headers = dict(headers or {})
        """Response headers the problem needs (``WWW-Authenticate`` on a 401)."""

    @classmethod
    def single(
        cls,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> ProblemError:
        """One problem with this status."""
        return cls(status, [Problem.of(slug, title, status=status, detail=detail)], headers)

    def document(self) -> Problem:
        """The problem document to answer with (several problems nest under ``errors``)."""
        if len(self.problems) == 1:
            return self.problems[0]
        return Problem.of(
            "invalid-submission",
            "The submission has several problems",
            status=self.status,
            detail=f"{len(self.problems)} problems, see errors.",
            errors=[p.model_dump(exclude_none=True) for p in self.problems],
        )


def malformed(detail: str, errors: list[dict[str, Any]] | None = None) -> ProblemError:
    """A 400 problem: the request cannot be read as a submission."""
    extra: dict[str, Any] = {"errors": errors} if errors else {}
    problem = Problem.of(
        "malformed-request", "Malformed request", status=400, detail=detail, **extra
    )
    return ProblemError(400, [problem])


def too_large(detail: str) -> ProblemError:
    """A 413 problem: a limit was exceeded."""
    return ProblemError.single(413, "payload-too-large", "Payload too large", detail)
