"""Proving the ledger against the signed checkpoints (``amtsweg verify --checkpoint``).

The checkpoints are verified and folded (:func:`events.checkpoint.fold`) into the head of
every submission as of the latest one, at its notification position ``P``. Then:

1. every submission of the fold exists, and has at least that many events;
2. its chain verifies from genesis up to that event, whose hash is exactly the signed one
   (so a trail rewritten by someone holding the chain key is found too);
3. the ledger's events up to ``P`` are exactly those: per submission as many as its
   head's version, and as many in all as the checkpoint counted (so an event removed,
   inserted or moved in the notification order is found);
4. every submission, also one newer than the latest checkpoint, passes the ordinary
   check (chain and relay witness, :func:`services.ops.actions.verify.check_submission`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from events.checkpoint import Checkpoint, Fold, Head, file_name
from events.ledger import Ledger, SubmissionNotFoundError
from events.relay_store import RelayStore
from services.ops.actions.verify import BrokenLink, check_submission, check_witness

PAGE = 500


@dataclass(frozen=True)
class Finding:
    """One thing the ledger or the checkpoints do not hold."""

    kind: str
    """``submission-deleted``, ``trail-truncated``, ``event-edited``,
    ``events-reordered-or-removed``, ``submission-inserted``, ``event-count``,
    ``chain-broken``, ``checkpoint-forged``, ``checkpoint-missing``,
    ``checkpoint-inconsistent``."""
    subject: str
    """A submission id, a checkpoint file name, or ``ledger``."""
    problem: str


@dataclass
class Proof:
    """What ``verify --checkpoint`` found."""

    latest: Checkpoint | None
    checkpoints: int
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)


def prove(ledger: Ledger, folded: Fold, store: RelayStore, *, directory: str) -> Proof:
    """Check the ledger against the folded checkpoints (see the module's steps)."""
    proof = Proof(folded.latest, folded.verified)
    proof.findings.extend(Finding(f.kind, f.subject, f.problem) for f in folded.findings)
    latest = folded.latest
    if latest is None and ledger.recorder.max_notification_id():
        proof.findings.append(
            Finding("checkpoint-missing", directory, "the ledger has events, but no checkpoint")
        )
    reported: set[str] = set()
    for submission_id in _every_submission(ledger, folded.heads):
        proof.checked += 1
        finding = _submission(ledger, store, submission_id, folded.heads.get(submission_id))
        if finding is not None:
            proof.findings.append(finding)
            reported.add(submission_id)
    complete = not any(
        f.kind in {"checkpoint-forged", "checkpoint-missing"} for f in proof.findings
    )
    if latest is not None and complete:
        proof.findings.extend(_counts(ledger, latest, folded.heads, reported))
    return proof


def _every_submission(ledger: Ledger, heads: dict[str, Head]) -> Iterator[str]:
    """The fold's submissions first (one deleted from the ledger too), then the newer ones."""
    yield from heads
    for submission_id in ledger.submission_ids():
        if str(submission_id) not in heads:
            yield str(submission_id)


def _submission(
    ledger: Ledger, store: RelayStore, submission_id: str, head: Head | None
) -> Finding | None:
    """The first problem of one submission, or None."""
    uuid = UUID(submission_id)
    if head is not None:
        return _against_head(ledger, store, uuid, head)
    try:
        broken = check_submission(ledger, store, uuid)
    except SubmissionNotFoundError:
        return Finding("submission-deleted", submission_id, "no such submission")
    return (
        None if broken is None else Finding(_kind(broken.reason), submission_id, broken.describe())
    )


def _against_head(
    ledger: Ledger, store: RelayStore, submission_id: UUID, head: Head
) -> Finding | None:
    """Steps 1, 2 and 4 for a submission the checkpoints recorded."""
    subject, version = str(submission_id), head.version
    try:
        trail = ledger.trail(submission_id)
    except SubmissionNotFoundError:
        problem = f"the checkpoint recorded it at event {version}; the ledger holds none of it"
        return Finding("submission-deleted", subject, problem)
    except (ValueError, TypeError, KeyError) as error:
        return Finding("chain-broken", subject, f"its events cannot be decoded: {error}")
    broken = ledger.verify(submission_id)
    if broken is not None and broken.version <= version:
        return Finding(_kind(broken.reason), subject, f"event {broken.version}: {broken.reason}")
    if len(trail) < version:
        problem = (
            f"the checkpoint recorded event {version}, the ledger ends at {len(trail)}: "
            "its tail was deleted"
        )
        return Finding("trail-truncated", subject, problem)
    if trail[version - 1].hash != head.hash:
        problem = (
            f"event {version} is not the one the checkpoint recorded (its hash differs): "
            "the trail was rewritten"
        )
        return Finding("event-edited", subject, problem)
    later = (
        BrokenLink(broken.version, None, None, broken.reason)
        if broken is not None
        else check_witness(ledger, store, submission_id, trail)
    )
    return _found(subject, later)


def _found(subject: str, link: BrokenLink | None) -> Finding | None:
    return None if link is None else Finding(_kind(link.reason), subject, link.describe())


def _kind(reason: str) -> str:
    if "content does not match" in reason:
        return "event-edited"
    if "expected version" in reason or "prev_hash" in reason:
        return "events-reordered-or-removed"
    if "relay published" in reason and "deleted" in reason:
        return "trail-truncated"
    if "differs from what the relay published" in reason:
        return "event-edited"
    return "chain-broken"


def _counts(
    ledger: Ledger, latest: Checkpoint, heads: dict[str, Head], reported: set[str]
) -> Iterable[Finding]:
    """Step 3: the events up to the latest checkpoint's position, per submission and in all."""
    counts = _events_up_to(ledger, latest.position)
    position, name = latest.position, file_name(latest.sequence)
    for submission_id in sorted(set(counts) | set(heads)):
        if submission_id in reported:
            continue
        found, recorded = counts.get(submission_id, 0), heads.get(submission_id)
        if recorded is None:
            problem = (
                f"{found} event(s) at positions up to {position} that no checkpoint recorded: "
                "inserted, or moved in the order"
            )
            yield Finding("submission-inserted", submission_id, problem)
        elif found != recorded.version:
            problem = (
                f"{found} event(s) at positions up to {position}, the checkpoint recorded "
                f"{recorded.version}: events were removed or moved in the order"
            )
            yield Finding("events-reordered-or-removed", submission_id, problem)
    total = sum(counts.values())
    if total != latest.events:
        problem = f"{total} event(s) up to position {position}, {name} counted {latest.events}"
        yield Finding("event-count", "ledger", problem)


def _events_up_to(ledger: Ledger, stop: int) -> Counter[str]:
    """How many events each submission has at notification positions up to ``stop``."""
    counts: Counter[str] = Counter()
    position = 0
    while position < stop:
        page = ledger.recorder.select_notifications(
            start=position, limit=PAGE, stop=stop, inclusive_of_start=False
        )
        if not page:
            break
        counts.update(str(UUID(str(n.originator_id))) for n in page)
        position = page[-1].id
    return counts
