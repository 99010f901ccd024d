"""When to remind and escalate: pure decisions over elapsed time.

FIT-Connect's defaults are the model: remind after 3 and 9 days without a receipt,
escalate after 14. After a pause (the notifier was down) the latest due step is taken
once: a delivery 10 days old without reminders gets reminder 2, not 1 then 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadlinePolicy:
    """Seconds after dispatch: the reminders, then the escalation."""

    remind_after: tuple[float, ...]
    escalate_after: float


@dataclass(frozen=True)
class Remind:
    """Announce the delivery again as reminder number ``stage``."""

    stage: int
    after_seconds: float


@dataclass(frozen=True)
class Escalate:
    """Hand the delivery to operations."""

    after_seconds: float


def next_step(
    elapsed: float, reminders: int, escalated: bool, policy: DeadlinePolicy
) -> Remind | Escalate | None:
    """The step due ``elapsed`` seconds after dispatch, or None."""
    if escalated:
        return None
    if elapsed >= policy.escalate_after:
        return Escalate(policy.escalate_after)
    passed = [limit for limit in policy.remind_after if elapsed >= limit]
    if len(passed) > reminders:
        return Remind(len(passed), passed[-1])
    return None
