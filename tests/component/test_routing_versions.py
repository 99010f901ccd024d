"""Directory versions: an update changes new decisions, never old events; old versions stay
addressable, so a replay decides as then unless told to use the current directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.dossier import Dossier, routing_keys
from events.ledger import Ledger
from events.vault import Vault
from services.routing import handler as routing
from services.routing.archive import DirectoryArchive, UnknownDirectoryVersionError
from services.routing.decision import decide
from services.routing.resolve import Routed
from services.routing.settings import RoutingSettings
from tests.support.factories import sealed_submission, xdomea_sample
from tests.support.routing import POSTCODES, REGIONS, authority, write_directory

BUERGERGELD = "99900000000101"
KOELN = "053150000000"


def _document(koeln_by: str) -> dict[str, Any]:
    return {
        "version": "koeln",
        "services": {BUERGERGELD: "Bürgergeld"},
        "authorities": [authority("jobcenter-koeln"), authority("jobcenter-koeln-porz")],
        "competences": [{"authority": koeln_by, "services": [BUERGERGELD], "area": "05315"}],
    }


def _settings(tmp_path: Path) -> RoutingSettings:
    return RoutingSettings(
        directory=tmp_path / "directory.json",
        regions=REGIONS,
        postcodes=POSTCODES,
        archive=tmp_path / "archive",
    )


def _routed(ledger: Ledger, vault: Vault, context: Any) -> UUID:
    submission = sealed_submission(
        vault, xdomea_sample(), routing={"ars": KOELN}, chain=ledger.chain_keys
    )
    submission.validate("cat-1", "u")
    ledger.save(submission)
    assert routing.route_submission(ledger, vault, context, submission.id)
    return submission.id


def test_an_update_changes_new_decisions_and_replays_decide_as_then(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    archive = DirectoryArchive(tmp_path / "archive")
    write_directory(tmp_path, _document("jobcenter-koeln"))
    before = routing.load(settings, archive)
    old = _routed(ledger, vault, before)
    old_trail = ledger.trail(old)

    write_directory(tmp_path, _document("jobcenter-koeln-porz"))  # the same label
    after = routing.load(settings, archive)
    new = _routed(ledger, vault, after)

    assert after.version != before.version
    assert after.version.startswith("koeln+")
    routed_old, routed_new = ledger.trail(old)[-1], ledger.trail(new)[-1]
    assert routed_old.data["authority_id"] == "jobcenter-koeln"
    assert routed_old.data["directory_version"] == before.version
    assert routed_old.data["competence"] == f"jobcenter-koeln/{BUERGERGELD}/05315"
    assert routed_new.data["authority_id"] == "jobcenter-koeln-porz"
    assert routed_new.data["directory_version"] == after.version
    assert ledger.trail(old) == old_trail  # the old event is what it was
    assert ledger.verify(old) is None

    # A replay: the recorded version, rebuilt from the archive, decides as then …
    recorded = archive.load(routed_old.data["directory_version"])
    submission = ledger.get_submission(old)
    hint, keys = Dossier.of(vault, submission).routing, routing_keys(vault, submission)
    assert hint == {"ars": KOELN}  # the portal's hint, sealed in the vault
    again = decide(recorded, submission.leika_key, hint, keys)
    assert isinstance(again.outcome, Routed)
    assert again.outcome.authority_id == routed_old.data["authority_id"]
    assert again.outcome.competence == routed_old.data["competence"]
    assert again.region == routed_old.data["region"]
    # … unless it is told to use the current directory.
    current = decide(after, submission.leika_key, hint, keys)
    assert isinstance(current.outcome, Routed)
    assert current.outcome.authority_id == "jobcenter-koeln-porz"
    assert sorted(archive.versions()) == sorted([before.version, after.version])


def test_a_redelivered_validated_message_changes_nothing(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    write_directory(tmp_path, _document("jobcenter-koeln"))
    context = routing.load(_settings(tmp_path))
    submission_id = _routed(ledger, vault, context)

    assert routing.route_submission(ledger, vault, context, submission_id) is False
    assert [e.event for e in ledger.trail(submission_id)] == ["Received", "Validated", "Routed"]


def test_keeping_a_version_twice_is_harmless(tmp_path: Path) -> None:
    write_directory(tmp_path, _document("jobcenter-koeln"))
    archive = DirectoryArchive(tmp_path / "archive")
    first = routing.load(_settings(tmp_path), archive)
    routing.load(_settings(tmp_path), archive)

    assert archive.versions() == [first.version]
    assert len(list((tmp_path / "archive" / "files").iterdir())) == 3  # content-addressed


def test_an_unknown_version_is_an_error(tmp_path: Path) -> None:
    archive = DirectoryArchive(tmp_path / "archive")

    with pytest.raises(UnknownDirectoryVersionError, match="not in the archive"):
        archive.load("koeln+0123456789abcdef")
    with pytest.raises(UnknownDirectoryVersionError, match="not a directory version"):
        archive.load("../../etc/passwd")


def test_a_damaged_archive_is_noticed(tmp_path: Path) -> None:
    write_directory(tmp_path, _document("jobcenter-koeln"))
    archive = DirectoryArchive(tmp_path / "archive")
    context = routing.load(_settings(tmp_path), archive)
    for path in (tmp_path / "archive" / "files").iterdir():
        if path.stat().st_size < 2000:  # the small directory file
            path.write_text(
                path.read_text().replace("jobcenter-koeln-porz", "jobcenter-koeln-kalk")
            )

    with pytest.raises(UnknownDirectoryVersionError):
        archive.load(context.version)
