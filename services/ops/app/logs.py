"""Structured logging: JSON lines (or console lines in a terminal) through structlog.

Every line a handler writes while working on a submission carries ``submission_id``,
``correlation_id`` (the portal's, recorded with the submission), ``causation_id`` (what
caused the work: the hash of the ledger event a worker consumed, ``kafka:<topic>/
<partition>/<offset>`` for a message that is not one, ``http:<uuid>`` for a request) and
``stage``, bound with ``structlog.contextvars``. The standard library's records (uvicorn,
FastStream, aiokafka) go through the same renderer and get the same bound fields.
Payloads and personal data are never logged; as a safeguard, values under keys that name
a payload (``data``, ``metadata``, ``envelope`` …) are withheld from every line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

PAYLOAD_KEYS = frozenset(
    {"body", "content", "data", "document", "envelope", "metadata", "payload", "value"}
)
"""Keys whose values are never written, whatever a caller passes."""
WITHHELD = "[withheld]"


def withhold_payloads(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the values of :data:`PAYLOAD_KEYS` (a structlog processor)."""
    for key in PAYLOAD_KEYS.intersection(event_dict):
        event_dict[key] = WITHHELD
    return event_dict


def configure_logging(*, json_lines: bool | None = None, level: str = "INFO") -> None:
    """Configure structlog and route the standard library's logging through it."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        withhold_payloads,
    ]
    # The list instance stays the same: loggers cached on first use hold it, and a second
    # configuration (or a test's structlog.testing.capture_logs) must reach them too.
    processors: list[structlog.typing.Processor] = structlog.get_config()["processors"]
    processors[:] = [
        *shared,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ]
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
