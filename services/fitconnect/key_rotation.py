"""Rotating a destination's encryption key without losing submissions in flight.

A sender fetches the destination's published key (``encryptionKid``), announces, encrypts
and uploads, then submits; a rotation may fall anywhere in between. So a rotation only adds
a key: the new one is published, every older one still decrypts (by ``kid`` or RFC 7638
thumbprint). An operator *retires* an older key once nothing can still be encrypted to it:

* never the published key (rotate first);
* not while other processes may still publish it: they ask for the published key anew
  after :data:`~services.fitconnect.destination_keys.PUBLISHED_CACHE_SECONDS`;
* not while a submission to the destination was announced before the key stopped being
  published (plus that time) and is not submitted yet: its sender may have encrypted to
  the old key. ``force`` retires anyway (the answer names those submissions: their
  submit will fail with ``encryption-invalid``).

A sender that keeps a key longer than it takes to announce (against the specification's
``Cache-Control: no-cache``) is not seen here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.fitconnect.destination_keys import (
    PUBLISHED_CACHE_SECONDS,
    DestinationKey,
    DestinationKeyError,
    DestinationKeys,
    KeyGeneration,
)
from services.fitconnect.submission_table import SubmissionTable

GRACE = timedelta(seconds=PUBLISHED_CACHE_SECONDS)


@dataclass(frozen=True)
class KeyState:
    """A key of a destination and the open submissions that may be encrypted to it."""

    key: KeyGeneration
    in_flight: tuple[str, ...]
    """Submission ids announced while the key was (or may have been) published, not
    submitted yet."""


@dataclass(frozen=True)
class Retirement:
    """What a retirement did."""

    kid: str
    retired: bool
    """False: the key was retired before."""
    warnings: tuple[str, ...]
    """Why it would have been refused without ``force``."""
    in_flight: tuple[str, ...]


class RetirementRefusedError(Exception):
    """Retiring the key could lose a submission in flight (``force`` overrides)."""

    def __init__(self, reasons: tuple[str, ...], in_flight: tuple[str, ...]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.in_flight = in_flight


class KeyRotation:
    """List, rotate and retire the keys of destinations."""

    def __init__(
        self,
        keys: DestinationKeys,
        submissions: SubmissionTable,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keys = keys
        self._submissions = submissions
        self._clock = clock

    def states(self, destination: uuid.UUID) -> list[KeyState]:
        """Every key of the destination, the published one first."""
        open_ = self._submissions.open_of_destination(str(destination))
        return [
            KeyState(key, _in_flight(key, open_)) for key in self._keys.generations(destination)
        ]

    def rotate(self, destination: uuid.UUID) -> DestinationKey:
        """A new key becomes the published one (made now: seconds for RSA-4096)."""
        return self._keys.rotate(destination)

    def retire(self, destination: uuid.UUID, kid: str, *, force: bool = False) -> Retirement:
        """Retire an older key; ``RetirementRefusedError`` while it may still be needed
        (unless ``force``), ``DestinationKeyError`` for the published or an unknown key."""
        state = next(
            (s for s in self.states(destination) if kid in {s.key.kid, s.key.thumbprint}), None
        )
        if state is None:
            msg = f"destination {destination} has no key {kid}"
            raise DestinationKeyError(msg)
        if state.key.superseded_at is None:
            msg = f"{state.key.kid} is the published key of destination {destination}: rotate first"
            raise DestinationKeyError(msg)
        reasons: list[str] = []
        superseded = datetime.fromisoformat(state.key.superseded_at)
        if state.key.retired_at is None and self._clock() < superseded + GRACE:
            reasons.append(
                f"it was published until {state.key.superseded_at}: other processes may "
                f"publish it for up to {int(GRACE.total_seconds())} s after a rotation"
            )
        if state.key.retired_at is None and state.in_flight:
            reasons.append(
                f"{len(state.in_flight)} submission(s) announced while it was published "
                "are not submitted yet"
            )
        if reasons and not force:
            raise RetirementRefusedError(tuple(reasons), state.in_flight)
        retired = self._keys.retire(destination, state.key.kid)
        return Retirement(state.key.kid, retired, tuple(reasons), state.in_flight)


def _in_flight(key: KeyGeneration, open_: list[tuple[str, str]]) -> tuple[str, ...]:
    if key.superseded_at is None:
        return tuple(submission for submission, _ in open_)
    until = datetime.fromisoformat(key.superseded_at) + GRACE
    return tuple(
        submission for submission, announced in open_ if datetime.fromisoformat(announced) < until
    )
