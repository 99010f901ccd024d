"""How many threads a stage seals a batch on: by the process it has, unless set."""

from __future__ import annotations

from services.runtime.settings import SEALING_THREADS_ALONE, StageSettings


def test_stages_sharing_a_process_seal_in_turn_alone_on_threads() -> None:
    unset = StageSettings()
    assert unset.for_process(shared=True).sealing_threads == 1
    assert unset.for_process(shared=False).sealing_threads == SEALING_THREADS_ALONE
    assert unset.for_process(shared=True).sealing_pool("x") is None
    pool = unset.for_process(shared=False).sealing_pool("x")
    assert pool is not None
    pool.shutdown()


def test_a_configured_number_is_kept() -> None:
    assert StageSettings(sealing_threads=3).for_process(shared=True).sealing_threads == 3
    assert StageSettings(sealing_threads=3).for_process(shared=False).sealing_threads == 3
