"""RFC 7807 problem documents with stable ``type`` URIs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_BASE = "https://amtsweg.de/problems/"
"""Every problem type URI starts here; the rest is a stable slug."""


def problem_type(slug: str) -> str:
    """The stable type URI for a problem slug such as ``schema-violation``."""
    return PROBLEM_BASE + slug


class Location(BaseModel):
    """Where in a document a finding was made."""

    model_config = ConfigDict(frozen=True)

    line: int | None = None
    path: str | None = Field(default=None, description="XPath or JSON pointer")


class Problem(BaseModel):
    """An RFC 7807 problem document (``application/problem+json``)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str
    title: str
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    location: Location | None = None

    @classmethod
    def of(cls, slug: str, title: str, **fields: Any) -> Problem:
        """A problem whose type URI is derived from ``slug``."""
        return cls(type=problem_type(slug), title=title, **fields)
