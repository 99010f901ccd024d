"""``amtsweg usage`` on SQLite and PostgreSQL: a ledger with submissions in October and
November 2026 for two tenants (and the platform's), exact figures for November."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from events.case import ReplyKind
from events.ledger import Ledger
from events.settings import LedgerSettings
from events.submission import Submission
from services.ops.cli.main import app
from services.ops.readmodels.usage.figures import FIGURES
from tests.support.factories import BUERGERGELD, new_submission

KOELN, DESSAU = "053150000000", "150010000000"
JOBCENTER_KOELN, JOBCENTER_DESSAU = "jobcenter-koeln", "jobcenter-dessau-rosslau"
TENANTS = {
    "tenants": [
        {"id": "st", "name": "Sachsen-Anhalt", "portals": ["portal-b"], "states": ["15"]},
        {"id": "nw", "name": "Nordrhein-Westfalen", "states": ["05"]},
    ]
}
BLOB = "b/1"
REFERENCE: dict[str, Any] = {"blob": BLOB, "sha512": "a" * 128, "size": 10}


class Clock:
    """Sets the timestamp of the events recorded next (``Submission.Event.create_timestamp``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        monkeypatch.setattr(Submission.Event, "create_timestamp", staticmethod(lambda: self.now))

    def at(self, iso: str) -> Clock:
        self.now = datetime.fromisoformat(iso)
        return self


def _received(
    clock: Clock, iso: str, portal: str, size: int = 1, attachment: int = 0
) -> Submission:
    clock.at(iso)
    attachments = [{"blob": BLOB, "sha512": "b" * 128, "size": attachment}] if attachment else []
    return new_submission(
        portal_id=portal,
        data={"blob": BLOB, "sha512": "a" * 128, "size": size},
        attachments=attachments,
    )


def _routed(clock: Clock, submission: Submission, iso: str, authority: str, ars: str) -> None:
    clock.at(iso)
    submission.validate("cat-1", "urn:x")
    submission.route(authority, ars, ars[:5], "dir-1")
    submission.dispatch(f"d-{submission.id}", authority, f"amtsweg.delivery.{authority}", REFERENCE)


@pytest.fixture
def ledger_with_two_months(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """November 2026 (Europe/Berlin) holds:

    - s1 (portal-a, unclaimed; Köln: tenant nw): received and delivered in October,
      accepted in November;
    - s2 (portal-b, st; Dessau: st): received at 00:30 on 1 November in Berlin (23:30 UTC
      the day before), 100 + 50 bytes, delivered, a reply, a supplement of 25 bytes,
      accepted;
    - s3 (portal-b): rejected by validation;
    - s4 (portal-a): unroutable (the platform's);
    - s6 (portal-a): received at 23:59 on 30 November in Berlin, routed to Köln only in
      December: in November it has no authority, so it is the portal's (the platform's).

    s5 (received at 23:30 on 31 October in Berlin) and s7 (December) are not November's.
    """
    clock = Clock(monkeypatch)
    s1 = _received(clock, "2026-10-15T10:00:00+00:00", "portal-a", size=7)
    _routed(clock, s1, "2026-10-15T10:01:00+00:00", JOBCENTER_KOELN, KOELN)
    clock.at("2026-11-02T09:00:00+00:00")
    s1.accept(f"d-{s1.id}", "az-1")

    s2 = _received(clock, "2026-10-31T23:30:00+00:00", "portal-b", size=100, attachment=50)
    _routed(clock, s2, "2026-11-01T08:00:00+00:00", JOBCENTER_DESSAU, DESSAU)
    clock.at("2026-11-03T08:00:00+00:00")
    s2.reply(
        "r-1",
        kind=ReplyKind.STATUS,
        authority_id=JOBCENTER_DESSAU,
        delivery_id=f"d-{s2.id}",
        dossier=BLOB,
        parts=[],
        request_digest="d" * 64,
    )
    clock.at("2026-11-04T08:00:00+00:00")
    s2.hand_in(
        "s-1",
        answers=None,
        dossier=BLOB,
        parts=[{"partId": "p-1", "blob": BLOB, "sha512": "c" * 128, "size": 25}],
        request_digest="e" * 64,
    )
    clock.at("2026-11-05T08:00:00+00:00")
    s2.accept(f"d-{s2.id}", "az-2")

    s3 = _received(clock, "2026-11-10T12:00:00+00:00", "portal-b", size=3)
    s3.reject("cat-1", [{"type": "https://amtsweg.de/problems/schema-violation"}])
    s4 = _received(clock, "2026-11-20T12:00:00+00:00", "portal-a", size=4)
    s4.validate("cat-1", "urn:x")
    s4.mark_unroutable("no-competence", "nobody", "dir-1")
    s5 = _received(clock, "2026-10-31T22:30:00+00:00", "portal-b", size=1000)
    s6 = _received(clock, "2026-11-30T22:59:00+00:00", "portal-a", size=6)
    _routed(clock, s6, "2026-11-30T23:30:00+00:00", JOBCENTER_KOELN, KOELN)
    s7 = _received(clock, "2026-12-02T12:00:00+00:00", "portal-b", size=2000)
    for submission in (s1, s2, s3, s4, s5, s6, s7):
        ledger.save(submission)
    return ledger


@pytest.fixture
def amtsweg(ledger_settings: LedgerSettings, tmp_path: Path) -> tuple[CliRunner, Path]:
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps(TENANTS))
    env = {
        "AMTSWEG_DATA_DIR": str(tmp_path),
        "AMTSWEG_LEDGER_URL": ledger_settings.ledger_url,
        "AMTSWEG_LEDGER_SCHEMA": ledger_settings.ledger_schema,
        "AMTSWEG_DEVELOPMENT": None,
        "AMTSWEG_ROUTING_DIRECTORY": None,
        "AMTSWEG_TENANTS_FILE": str(tenants),
        "AMTSWEG_OPERATOR_SCOPES": json.dumps({"root": ["*"], "erika": ["st"]}),
        "AMTSWEG_OPERATOR": "root",
        "KAFKA_BOOTSTRAP_SERVERS": None,
    }
    return CliRunner(env=env), tenants


def _rows(result: Result) -> dict[str, dict[str, str]]:
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    return {row[reader.fieldnames[0]]: row for row in reader}  # type: ignore[index]


def _figures(row: dict[str, str]) -> tuple[int, ...]:
    return tuple(int(row[name]) for name in FIGURES)


#                  received delivered accepted rejected unroutable supplements replies bytes
S1 = (0, 0, 1, 0, 0, 0, 0, 0)
S2 = (1, 1, 1, 0, 0, 1, 1, 175)
S3 = (1, 0, 0, 1, 0, 0, 0, 3)
S4 = (1, 0, 0, 0, 1, 0, 0, 4)
S6 = (1, 0, 0, 0, 0, 0, 0, 6)


def _sum(*rows: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sum(column) for column in zip(*rows, strict=True))


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        (
            "tenant",
            {
                "nw": (S1, "0.00"),
                "st": (_sum(S2, S3), "50.00"),
                "platform": (_sum(S4, S6), "50.00"),
            },
        ),
        ("state", {"05": (S1, "0.00"), "15": (S2, "25.00"), "-": (_sum(S3, S4, S6), "75.00")}),
        (
            "authority",
            {
                JOBCENTER_KOELN: (S1, "0.00"),
                JOBCENTER_DESSAU: (S2, "25.00"),
                "-": (_sum(S3, S4, S6), "75.00"),
            },
        ),
        ("portal", {"portal-a": (_sum(S1, S4, S6), "50.00"), "portal-b": (_sum(S2, S3), "50.00")}),
        ("service", {BUERGERGELD: (_sum(S1, S2, S3, S4, S6), "100.00")}),
    ],
)
def test_november_by_each_grouping(
    ledger_with_two_months: Ledger,
    amtsweg: tuple[CliRunner, Path],
    by: str,
    expected: dict[str, tuple[tuple[int, ...], str]],
) -> None:
    runner, _ = amtsweg
    result = runner.invoke(app, ["usage", "--month", "2026-11", "--by", by, "--csv"])
    rows = _rows(result)
    assert result.stdout.splitlines()[0] == ",".join([by, *FIGURES, "share_percent"])
    assert {group: (_figures(row), row["share_percent"]) for group, row in rows.items()} == expected


def test_october_and_the_reproducibility_header(
    ledger_with_two_months: Ledger, amtsweg: tuple[CliRunner, Path]
) -> None:
    runner, tenants = amtsweg
    result = runner.invoke(app, ["usage", "--month", "2026-10", "--by", "portal", "--csv"])
    rows = _rows(result)
    # s1 (7 bytes, delivered) from portal-a; s5 (1000 bytes) from portal-b
    assert _figures(rows["portal-a"]) == (1, 1, 0, 0, 0, 0, 0, 7)
    assert _figures(rows["portal-b"]) == (1, 0, 0, 0, 0, 0, 0, 1000)
    digest = hashlib.sha256(tenants.read_bytes()).hexdigest()
    assert digest in result.stderr
    assert "2026-10-01T00:00:00+02:00" in result.stderr  # the month in Berlin time
    table = runner.invoke(app, ["usage", "--month", "2026-10"])
    assert table.exit_code == 0, table.output
    assert digest in table.stdout.replace("\n", "")


def test_wrong_choices_are_errors_not_empty_tables(
    ledger_with_two_months: Ledger, amtsweg: tuple[CliRunner, Path]
) -> None:
    runner, _ = amtsweg
    unknown = runner.invoke(app, ["usage", "--month", "2026-11", "--by", "county"])
    assert unknown.exit_code == 2
    assert "county" in unknown.output
    assert runner.invoke(app, ["usage", "--month", "2026-13"]).exit_code == 2
    scoped = runner.invoke(app, ["usage", "--month", "2026-11"], env={"AMTSWEG_OPERATOR": "erika"})
    assert scoped.exit_code == 2
    assert "AMTSWEG_OPERATOR_SCOPES" in scoped.output
    unscoped = runner.invoke(app, ["usage", "--month", "2026-11"], env={"AMTSWEG_OPERATOR": "otto"})
    assert unscoped.exit_code == 2
    assert "AMTSWEG_OPERATOR_SCOPES" in unscoped.output
