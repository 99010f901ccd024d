"""Exponential backoff with a cap: the one pause every retry loop in Amtsweg uses.

It lives here, below the stage services and the composition root, because everything that
waits to retry is runtime machinery: the batch retry of the stage workers, the relay's run
loop (the relay's outbox step, ``events.relay.Relay.publish_batch``, never waits), the
runner waiting for the broker, the notifier's callback retries and the chaos load's
clients. ``events`` stays free of timing policy.
"""

from __future__ import annotations

import random
from collections.abc import Callable

MAX_EXPONENT = 32
"""``base * 2**32`` exceeds every cap in use; a larger exponent would only overflow a float
after a long outage (``0.1 * 2**1024`` raises ``OverflowError``)."""


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: bool = False,
    draw: Callable[[], float] = random.random,
) -> float:
    """Seconds to pause before retry ``attempt`` (0 for the first): ``base * 2**attempt``, at
    most ``cap``.

    With ``jitter``, "equal jitter": half of the pause is kept and the other half scaled by
    ``draw()`` (a fraction in [0, 1)), so the pause lies in [pause / 2, pause) and many
    clients that failed together do not retry together.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be 0 or more, not {attempt}")
    pause = min(cap, base * 2.0 ** min(attempt, MAX_EXPONENT))
    if jitter:
        pause = pause / 2 + pause / 2 * draw()
    return pause
