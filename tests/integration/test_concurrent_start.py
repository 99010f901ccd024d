"""Services that start together on a fresh database each create their tables, and none fails.

PostgreSQL fails one of two concurrent ``CREATE ... IF NOT EXISTS`` of the same object, so
every store takes the database's table-creation lock first (``events.tables``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from events.ledger import Ledger
from events.parking import parking_lot
from events.relay_store import relay_store
from events.settings import LedgerSettings
from services.delivery.portal_store import PortalStore
from services.delivery.store import delivery_store
from services.ops.actions.access_log import access_log
from services.ops.actions.dead_letter_store import dead_letter_actions
from services.ops.readmodels.metrics.store import metrics_store
from services.ops.readmodels.overview.store import overview_store

STARTERS = 4
"""Processes' worth of openers, each opening every store at once with the others."""


def _open_all(settings: LedgerSettings) -> None:
    openers: tuple[Callable[[LedgerSettings], object], ...] = (
        Ledger,
        relay_store,
        parking_lot,
        delivery_store,
        PortalStore.beside,
        overview_store,
        metrics_store,
        dead_letter_actions,
        access_log,
    )
    for opener in openers:
        try:
            opened = opener(settings)
        except Exception as error:
            error.add_note(f"opening {getattr(opener, '__qualname__', opener)}")
            raise
        close = getattr(opened, "close", None)
        if close is not None:
            close()


def test_stores_opened_together_on_a_fresh_database_all_open(
    ledger_settings: LedgerSettings,
) -> None:
    start = threading.Barrier(STARTERS)
    failures: list[BaseException] = []

    def starter() -> None:
        start.wait()
        try:
            _open_all(ledger_settings)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=starter) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, [f"{type(e).__name__}: {e} {e.__notes__}" for e in failures]
    assert all(not thread.is_alive() for thread in threads)
    assert delivery_store(ledger_settings).position() == 0
