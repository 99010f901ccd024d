"""The problems the Routing API answers with: 400, RFC 7807, the spec's ``error`` schema."""

from __future__ import annotations

from typing import Any

from contracts.problems import problem_type

PROBLEM_JSON = "application/problem+json"


class RoutingRequestError(ValueError):
    """A request the Routing API refuses (400), with a stable problem type."""

    status = 400

    def __init__(self, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.slug = slug
        self.title = title
        self.detail = detail

    def document(self) -> dict[str, Any]:
        """The problem document (``type``, ``title``, ``status``, ``detail``)."""
        return {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }


def invalid_parameter(name: str, detail: str) -> RoutingRequestError:
    """A query parameter is missing, repeated or not of the spec's form."""
    return RoutingRequestError(
        "routing-invalid-parameter", f"Invalid query parameter {name}", detail
    )


def region_parameter(detail: str) -> RoutingRequestError:
    """Not exactly one of ``ars``, ``ags``, ``areaId``."""
    return RoutingRequestError(
        "routing-region-parameter", "Exactly one of ars, ags and areaId is required", detail
    )


def unknown_service(detail: str) -> RoutingRequestError:
    """The LeiKa key is well-formed but no service of the directory."""
    return RoutingRequestError("routing-unknown-service", "Unknown service", detail)


def unknown_region(detail: str) -> RoutingRequestError:
    """The region key is well-formed but names no area of the official key list."""
    return RoutingRequestError("routing-unknown-region", "Unknown region", detail)


def search_expression(detail: str) -> RoutingRequestError:
    """A search expression is missing, too short, too long, or there are too many."""
    return RoutingRequestError(
        "routing-search-expression", "Invalid area search expression", detail
    )
