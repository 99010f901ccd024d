"""The relay's port to the broker: hand over one message, learn when it is acknowledged.

The ledger knows no broker. The relay (:mod:`events.relay`) publishes through a
``Publisher``; the Kafka adapter (``services.runtime.kafka.KafkaPublisher``) implements it
and translates the client's errors into ``PublishError``, the one failure the relay's run
loop backs off on, or into ``PermanentPublishError`` when the broker refuses the message
itself (the relay parks it).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from events.outbox import Outbound


class PublishError(Exception):
    """The broker did not take a message (unreachable, refused, timed out): publish again."""


class PermanentPublishError(PublishError):
    """The broker refuses this message itself (e.g. too large): publishing it again fails too."""

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause
        """The broker client's error class (``MessageSizeTooLargeError``)."""


class Publisher(Protocol):
    """Sends the relay's messages, in the order it hands them over."""

    async def send(self, outbound: Outbound) -> Awaitable[object]:
        """Hand ``outbound`` over; the returned awaitable completes once the broker has it.

        Both the call and the awaitable raise ``PublishError`` when the broker fails.
        """
        ...
