"""Where a submission stands, and which command takes effect in which status.

Every command on a ``Submission`` is idempotent: in some statuses it takes effect (and
records its event), in others it has taken effect already or the submission is past it
(a no-op: the command returns ``False``), and anywhere else it does not fit
(``InvalidTransitionError``). ``TRANSITIONS`` says which is which, one row per command.
Guards beside the status (the delivery a receipt answers, the authority a delivery goes
to, an operator request seen before) stay with the commands in ``events.submission``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Where a submission stands."""

    RECEIVED = "received"
    VALIDATED = "validated"
    REJECTED = "rejected"
    ROUTED = "routed"
    UNROUTABLE = "unroutable"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    DECLINED = "declined"
    """The authority declared itself not responsible; routing forwards the submission."""
    HANDED_OVER = "handed-over"
    """Handed over to another Amtsweg instance, which carries the trail on."""
    WITHHELD = "withheld"
    """Not dispatched: the authority has no encryption key (operations: register it, replay)."""


TERMINAL = frozenset(
    {
        Status.REJECTED,
        Status.UNROUTABLE,
        Status.ACCEPTED,
        Status.REFUSED,
        Status.HANDED_OVER,
        Status.WITHHELD,
    }
)
"""Nothing happens on its own after these (an unroutable one waits for triage, a withheld
one for the authority's key and an operator's replay of delivery)."""


class InvalidTransitionError(Exception):
    """A command does not fit the submission's state."""


class ContentErasedError(Exception):
    """The submission's content was erased (its data key is destroyed): nothing to act on."""

    def __init__(self, submission_id: str) -> None:
        super().__init__(f"the content of submission {submission_id} was erased")
        self.submission_id = submission_id


REPLAY_DECIDED, REPLAY_UNCHANGED, REPLAY_CHANGED, REPLAY_DIFFERS = (
    "decided",
    "unchanged",
    "changed",
    "differs",
)
"""What an operator's replay of a stage found (see ``Submission.Replayed``)."""
REPLAY_INPUT = {
    "validation": Status.RECEIVED,
    "routing": Status.VALIDATED,
    "delivery": Status.ROUTED,
}
"""Where a submission waits for each stage's decision."""
REPLAY_FAILURE = {
    "validation": Status.REJECTED,
    "routing": Status.UNROUTABLE,
    "delivery": Status.WITHHELD,
}
"""The terminal failure a replay may decide anew (a success is never taken back)."""


@dataclass(frozen=True)
class Rule:
    """One command's row: where it takes effect, where it is a no-op; elsewhere it raises."""

    effect: frozenset[Status]
    done: frozenset[Status]
    """Where the command has taken effect already, or the submission is past it."""
    refusal: str
    """The error's message where it raises (``{submission}`` and ``{status}`` filled in)."""

    @property
    def invalid(self) -> frozenset[Status]:
        """Where the command raises ``InvalidTransitionError``."""
        return frozenset(Status) - self.effect - self.done


def _rule(marks: str, refusal: str | None) -> Rule:
    cells = dict(zip(Status, marks.split(), strict=True))
    if not set(cells.values()) <= {"+", ".", "x"}:
        msg = f"a transition row has marks other than + . x: {marks!r}"
        raise ValueError(msg)
    effect = frozenset(status for status, mark in cells.items() if mark == "+")
    done = frozenset(status for status, mark in cells.items() if mark == ".")
    if refusal is None:
        expected = next(status for status in Status if status in effect)
        refusal = f"{{submission}} is {{status}}, not {expected}"
    return Rule(effect, done, refusal)


# The columns, in Status order: received, validated, rejected, routed, unroutable,
# dispatched, accepted, refused, declined, handed-over, withheld.
# + takes effect, . a no-op (done, or the submission is past it), x raises.
#                                  rec val rej rou unr dis acc ref dec han wit
_GRID = {
    "validate":                    "+   .   .   .   .   .   .   .   .   .   .",
    "reject":                      "+   .   .   .   .   .   .   .   .   .   .",
    "route":                       "x   +   x   .   .   .   .   .   .   .   .",
    "mark_unroutable":             "x   +   x   .   .   .   .   .   +   .   .",
    "dispatch":                    "x   x   x   +   x   .   .   .   .   .   x",
    "withhold":                    "x   x   x   +   x   .   .   .   .   .   .",
    "accept":                      "x   x   x   x   x   +   .   .   .   .   x",
    "refuse":                      "x   x   x   x   x   +   .   .   .   .   x",
    "refuse_receipt":              "+   +   +   +   +   +   +   +   +   +   +",
    "remind":                      ".   .   .   .   .   +   .   .   .   .   .",
    "escalate":                    ".   .   .   .   .   +   .   .   .   .   .",
    "record_callback":             ".   .   .   .   .   +   .   .   .   .   .",
    "decline":                     "x   x   x   x   x   +   .   .   .   .   x",
    "forward":                     "x   x   x   x   x   x   x   x   +   x   x",
    "assign":                      "x   x   x   x   +   x   x   x   x   x   x",
    "hand_over":                   "x   x   x   +   x   .   .   .   .   .   x",
    "refuse_handover":             "x   x   x   +   .   .   .   .   .   .   x",
    "replay":                      "+   +   +   +   +   +   +   +   +   +   +",
    "replay decided validation":   "+   x   x   x   x   x   x   x   x   x   x",
    "replay decided routing":      "x   +   x   x   x   x   x   x   x   x   x",
    "replay decided delivery":     "x   x   x   +   x   x   x   x   x   x   x",
    "replay changed validation":   "x   x   +   x   x   x   x   x   x   x   x",
    "replay changed routing":      "x   x   x   x   +   x   x   x   x   x   x",
    "replay changed delivery":     "x   x   x   x   x   x   x   x   x   x   +",
    "redeliver":                   "x   x   x   x   x   +   x   x   x   x   x",
    "requeue_callback":            "x   x   x   x   x   +   x   x   x   x   x",
    "erase":                       "+   +   +   +   +   +   +   +   +   +   +",
    "reply":                       "x   x   x   x   x   +   +   x   x   x   x",
    "mark_overdue":                ".   .   .   .   .   +   +   .   .   .   .",
    "hand_in":                     "x   x   x   x   x   +   +   x   x   x   x",
    "dispatch_supplement":         ".   .   .   .   .   +   +   .   .   .   .",
    "acknowledge_supplement":      ".   .   .   .   .   +   +   .   .   .   .",
    "record_portal_callback":      "+   +   +   +   +   +   +   +   +   +   +",
}  # fmt: skip
"""One row per command. ``replay`` (an outcome of ``unchanged`` or ``differs``) is a record
of a check, fitting any status; a replay that ``decided`` or ``changed`` a stage's decision
needs the status its stage decides from (``REPLAY_INPUT``, ``REPLAY_FAILURE``)."""

_REFUSALS = {
    "forward": "{submission} is {status}: nothing was declined",
    "replay decided validation": "{submission} is {status}: a replay cannot have decided it",
    "replay decided routing": "{submission} is {status}: a replay cannot have decided it",
    "replay decided delivery": "{submission} is {status}: a replay cannot have decided it",
    "replay changed validation": "{submission} is {status}: a replay cannot have changed it",
    "replay changed routing": "{submission} is {status}: a replay cannot have changed it",
    "replay changed delivery": "{submission} is {status}: a replay cannot have changed it",
    "redeliver": "{submission} is {status}: no delivery awaits a receipt",
    "requeue_callback": "{submission} has no failed callback to retry",
    "reply": "{submission} is {status}: it is not delivered, so no authority holds its case",
    "hand_in": "{submission} is {status}: no authority holds its case",
}
"""Messages other than "is <status>, not <the status the command takes effect in>"."""

TRANSITIONS: Mapping[str, Rule] = {
    command: _rule(marks, _REFUSALS.get(command)) for command, marks in _GRID.items()
}


def replay_row(stage: str, outcome: str) -> str:
    """The row of ``TRANSITIONS`` a replay of ``stage`` with ``outcome`` follows."""
    if outcome in (REPLAY_DECIDED, REPLAY_CHANGED):
        return f"replay {outcome} {stage}"
    return "replay"


def takes_effect(command: str, status: Status, submission: str) -> bool:
    """True if ``command`` takes effect in ``status``, False if it is a no-op there.

    Raises ``InvalidTransitionError`` where it does not fit; ``submission`` names the
    submission in the message.
    """
    rule = TRANSITIONS[command]
    if status in rule.effect:
        return True
    if status in rule.done:
        return False
    raise InvalidTransitionError(rule.refusal.format(submission=submission, status=status))
