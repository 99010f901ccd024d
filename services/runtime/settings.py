"""The stage workers' settings, built once by the composition root."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SEALING_THREADS_ALONE = 8
"""Sealing threads of an intake or delivery that has its process to itself: each sealed
blob waits for its fsync, and a disk takes several together (21 KB blobs: about four
times the writes per second with 8 threads as with one, on the 2-core test machine)."""


class StageSettings(BaseSettings):
    """``AMTSWEG_STAGE_BATCH_RECORDS``: messages per batch at most (default 200).
    ``AMTSWEG_STAGE_SEALING_THREADS``: how many messages of a batch the Kafka intake and
    delivery seal at once (unset: 8 where the stage has its process to itself, 1 where
    the stages share one, as in ``amtsweg run``).

    A batch is whatever has arrived, never waited for: under light load it is one message.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_STAGE_", extra="ignore")

    batch_records: int = Field(default=200, ge=1, le=10_000)
    sealing_threads: int | None = Field(default=None, ge=1, le=64)

    def for_process(self, *, shared: bool) -> StageSettings:
        """These settings with ``sealing_threads`` decided: in a process the stages share
        (``shared``), their threads contend for one interpreter lock, and with 8 each a
        submission cost ``amtsweg run`` about a third more CPU than with 1 (measured)."""
        if self.sealing_threads is not None:
            return self
        return self.model_copy(update={"sealing_threads": 1 if shared else SEALING_THREADS_ALONE})

    def sealing_pool(self, name: str) -> ThreadPoolExecutor | None:
        """The threads a stage seals a batch's messages on; None: one after the other."""
        threads = self.sealing_threads or SEALING_THREADS_ALONE
        return None if threads == 1 else ThreadPoolExecutor(threads, thread_name_prefix=name)


class LeaseSettings(BaseSettings):
    """``AMTSWEG_LEASE_SECONDS``: how long a singleton's lease lasts without renewal (10).

    The leader renews every third of it; on PostgreSQL a standby takes over a holder that
    stopped renewing (alive but stuck) after it, a dead holder at once.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_LEASE_", extra="ignore")

    seconds: float = Field(default=10.0, ge=1.0, le=600.0)
