"""The composition root's recipients: development keys and the receipt policy by mode."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from services.ops.app import bootstrap
from services.ops.app.bootstrap import log_key_coverage, recipients_from
from services.ops.app.settings import RunSettings, Settings
from services.routing.directory import Directory
from services.routing.directory_file import load_directory, parse_directory
from services.routing.settings import RoutingSettings


def _settings(tmp_path: Path, *, development: bool) -> Settings:
    run = RunSettings(data_dir=tmp_path, development=development)
    return dataclasses.replace(Settings.from_environment(), run=run)


def _directory() -> Directory:
    return load_directory(RoutingSettings().directory)


@contextmanager
def _logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """What the composition root logs (its logger may be cached by an earlier test)."""
    with capture_logs() as logs:
        monkeypatch.setattr(bootstrap, "log", structlog.get_logger(bootstrap.__name__))
        yield logs


def test_outside_development_keyless_authorities_are_counted_and_none_get_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _directory()
    with _logs(monkeypatch) as logs:
        known = recipients_from(directory, _settings(tmp_path, development=False))
        log_key_coverage(known, development=False)  # as a process starting up does

    authority = directory.authorities[0].id
    assert not known.accept_unsigned_receipts
    assert not known.has_encryption_key(authority)
    recipient = known.get(authority)
    assert recipient is not None
    assert recipient.encryption_jwk is None
    (warning,) = [e for e in logs if e["event"] == "recipients.keys_missing"]
    assert warning["log_level"] == "warning"
    coverage = known.coverage()
    assert warning["without_encryption_key"] == coverage.without_encryption > 1000
    assert warning["without_verification_key"] == coverage.without_verification
    assert warning["authorities"] == coverage.authorities
    assert not (tmp_path / "authority-keys").exists()


def test_in_development_an_authority_gets_keys_when_first_delivered_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _directory()
    with _logs(monkeypatch) as logs:
        known = recipients_from(directory, _settings(tmp_path, development=True))
        log_key_coverage(known, development=True)

    assert [e["event"] for e in logs if e["event"].startswith("recipients.")] == [
        "recipients.development_keys"
    ]
    assert known.accept_unsigned_receipts
    assert not (tmp_path / "authority-keys").exists()  # none made at start-up
    first, second = directory.authorities[0].id, directory.authorities[1].id
    recipient = known.get(first)
    assert recipient is not None
    assert recipient.encryption_jwk is not None
    assert recipient.verification_jwk is not None
    assert [p.name for p in (tmp_path / "authority-keys").iterdir()] == [f"{first}.jwk.json"]
    assert known.has_encryption_key(second)  # would get keys, has none yet
    assert known.get(first) == recipient  # the same keys again


def test_an_authority_whose_channel_is_fit_connect_is_delivered_to_by_pickup(
    tmp_path: Path,
) -> None:
    document = json.loads(RoutingSettings().directory.read_text(encoding="utf-8"))
    first, second = document["authorities"][:2]
    first["channel"] = {"fitConnect": {}}

    known = recipients_from(parse_directory(document), _settings(tmp_path, development=False))

    picks_up, reads_topic = known.get(first["id"]), known.get(second["id"])
    assert picks_up is not None
    assert picks_up.fit_connect
    assert picks_up.callback_url is None
    assert reads_topic is not None
    assert not reads_topic.fit_connect
