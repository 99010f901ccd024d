"""Does a proof of receipt lead to a signed checkpoint? The offline check of its trail.

A confirmation (``contracts.confirmation``) names its submission's ``Received`` event:
version 1 and its chain hash. The submission's trail as the portal read it
(``GET /v1/submissions/{id}/events``: each event's ``version``, ``hash`` and ``prevHash``)
links every later event to the one before; a signed checkpoint names the submission's
head (version, hash) at its time. The confirmation is *included* when the trail begins
with its ``Received`` event, is linked without a gap, and holds the head the checkpoints
name (a supplement's confirmation names its ``SupplementReceived`` event: the trail must
hold it). Offline, the hashes themselves cannot be recomputed (they are keyed with the
ledger's chain key); the checkpoint's signature is what makes the head trustworthy.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.confirmation import Confirmation
from events.chain import GENESIS
from events.checkpoint import Head


class TrailFormatError(ValueError):
    """The trail file is not a page (or list) of trail events with version and hashes."""


@dataclass(frozen=True)
class Link:
    """One event of a trail as the portal read it."""

    version: int
    hash: str
    prev_hash: str


@dataclass(frozen=True)
class Inclusion:
    """The answer: ``included`` or why not; ``head`` is the checkpoint's, if it has one."""

    included: bool
    problem: str | None = None
    head: Head | None = None
    covered: bool = True
    """False when no checkpoint names the submission yet (nothing wrong, only too early)."""


def trail_links(document: object) -> list[Link]:
    """The events of a trail page (``{"events": [...]}``) or a list of events, by version."""
    events = document.get("events") if isinstance(document, Mapping) else document
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise TrailFormatError("not a trail: expected {'events': [...]} or a list of events")
    links = [_link(event) for event in events]
    return sorted(links, key=lambda link: link.version)


def _link(event: Any) -> Link:
    try:
        version, digest, prev = event["version"], event["hash"], event["prevHash"]
    except (TypeError, KeyError) as error:
        raise TrailFormatError(f"a trail event without version, hash, prevHash ({error})") from None
    if not isinstance(version, int) or not isinstance(digest, str) or not isinstance(prev, str):
        raise TrailFormatError("a trail event's version is not a number or a hash not a string")
    return Link(version, digest, prev)


def included(
    confirmation: Confirmation, links: Sequence[Link], heads: Mapping[str, Head]
) -> Inclusion:
    """Whether the confirmed ``Received`` event leads through ``links`` to the head that the
    checkpoint ``heads`` (a fold, or one checkpoint's) name for the submission."""
    problem = _unlinked(confirmation, links)
    if problem is not None:
        return Inclusion(included=False, problem=problem)
    head = heads.get(confirmation.submission_id)
    if head is None:
        problem = "no checkpoint given names this submission yet (write or fetch a newer one)"
        return Inclusion(included=False, problem=problem, covered=False)
    if head.version < confirmation.received.version:
        problem = "the checkpoints given are older than the confirmed event (fetch a newer one)"
        return Inclusion(included=False, problem=problem, head=head, covered=False)
    if not any(link.version == head.version and link.hash == head.hash for link in links):
        problem = (
            f"the checkpoint's head (version {head.version}) is not in the trail: the trail "
            "is older than the checkpoint, or it was altered"
        )
        return Inclusion(included=False, problem=problem, head=head)
    return Inclusion(included=True, head=head)


def _unlinked(confirmation: Confirmation, links: Sequence[Link]) -> str | None:
    """Why the trail does not begin with the confirmed event and link on, or None."""
    if not links or links[0].version != 1:
        return "the trail does not begin with version 1"
    first, received = links[0], confirmation.received
    if confirmation.supplement_id is not None:  # a supplement's: its event further on
        if not any(
            link.version == received.version and link.hash == received.hash for link in links
        ):
            return "the trail does not hold the SupplementReceived event this confirmation names"
    elif first.hash != received.hash or received.version != 1:
        return "the trail's first event is not the Received event this confirmation names"
    if first.prev_hash != GENESIS:
        return "the trail's first event has a predecessor"
    for before, after in itertools.pairwise(links):
        if after.version != before.version + 1 or after.prev_hash != before.hash:
            return f"the trail is not linked from version {before.version} to {after.version}"
    return None
