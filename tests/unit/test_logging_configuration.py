"""Configuring logging again reaches the loggers already cached, and so does capture_logs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from services.ops.app.logs import configure_logging


@pytest.fixture
def restored() -> Iterator[None]:
    before = structlog.get_config()
    kept = list(before["processors"])
    yield
    before["processors"][:] = kept
    structlog.configure(**{**before, "processors": before["processors"]})


@pytest.mark.usefixtures("restored")
def test_a_logger_cached_before_a_second_configuration_is_still_captured() -> None:
    configure_logging(json_lines=True, level="CRITICAL")
    log = structlog.get_logger("amtsweg.test")
    log.info("cached.now")  # the first use caches the bound logger
    configure_logging(json_lines=True, level="CRITICAL")
    with capture_logs() as logs:
        log.warning("seen")
    assert [entry["event"] for entry in logs] == ["seen"]
