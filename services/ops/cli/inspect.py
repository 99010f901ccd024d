"""``amtsweg events show``, ``submissions list|counts``, ``verify [--checkpoint]`` and ``rebuild``.

Showing a trail, a list or a verification adds an entry to the access log (``--purpose``
says why); the counts per status name no submission and are not recorded.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.markup import escape
from rich.table import Table

from events.ledger import SubmissionNotFoundError
from events.shard_relay_stores import relay_stores
from services.ops.actions.access_log import Read
from services.ops.actions.verify import check_submission
from services.ops.cli import support as out
from services.ops.cli.checkpoint import print_proof, verify_against_checkpoints
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.timeline import timeline

events_app = typer.Typer(help="Inspect a submission's event log.", no_args_is_help=True)
submissions_app = typer.Typer(help="Submissions and where they stand.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@events_app.command("show")
def events_show(
    submission_id: UUID, purpose: out.PurposeOption = None, as_json: JsonOption = False
) -> None:
    """A submission's trail as a timeline: time, event, actor, details."""
    wiring = out.wiring()
    out.require_in_scope(wiring, submission_id)
    ledger = wiring.ledger
    try:
        trail = ledger.trail(submission_id)
        out.record_read(wiring, Read.TRAIL, purpose, submission_id)
    except SubmissionNotFoundError:
        raise out.fail(f"No submission {submission_id}") from None
    finally:
        ledger.close()
    lines = timeline(trail)
    if as_json:
        out.print_json(
            [
                {**entry.__dict__, "actor": line.actor, "details": line.details}
                for entry, line in zip(trail, lines, strict=True)
            ]
        )
        return
    table = Table(title=f"Submission {submission_id}")
    for column in ("#", "time", "event", "actor", "details", "hash"):
        table.add_column(column, overflow="fold")
    for line in lines:
        table.add_row(
            str(line.version),
            line.time,
            line.event,
            escape(line.actor),
            escape(line.details),
            line.hash[:12],
        )
    out.console.print(table)


@submissions_app.command("list")
def submissions_list(  # noqa: PLR0917 - typer options
    status: Annotated[str | None, typer.Option(help="received, rejected, unroutable …")] = None,
    service: Annotated[str | None, typer.Option(help="LeiKa key or service identifier")] = None,
    authority: Annotated[str | None, typer.Option(help="routed to this authority id")] = None,
    portal: Annotated[str | None, typer.Option(help="posted by this portal id")] = None,
    since: Annotated[str | None, typer.Option(help="received at or after: ISO 8601 or 2h")] = None,
    until: Annotated[str | None, typer.Option(help="received before: ISO 8601 or 30m")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="newest first")] = 100,
    purpose: out.PurposeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submissions matching the filters, newest first (from the overview read model)."""
    filters = Filters(
        status, service, authority, portal, out.parse_time(since), out.parse_time(until)
    )
    wiring = out.wiring()
    filters = out.scoped_filters(wiring, filters)
    ledger = wiring.ledger
    try:
        projector = wiring.overview()
        projector.catch_up()
        rows = projector.store.select(filters, limit)
        total = projector.store.count(filters)
        out.record_read(wiring, Read.LIST, purpose)
    finally:
        ledger.close()
    if as_json:
        out.print_json({"total": total, "submissions": [dataclasses.asdict(r) for r in rows]})
        return
    table = Table(title=f"Submissions ({len(rows)} of {total})")
    for column in ("submission", "received", "status", "service", "portal", "authority", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        note = row.problem or ("dead letter" if row.dead_letter else "")
        note += " escalated" if row.escalated else ""
        table.add_row(
            row.submission_id,
            out.iso(row.received_at),
            row.status,
            row.leika_key,
            row.portal_id,
            row.authority_id or "",
            escape(note.strip()),
        )
    out.console.print(table)


@submissions_app.command("counts")
def submissions_counts(as_json: JsonOption = False) -> None:
    """How many submissions stand at each status."""
    wiring = out.wiring()
    ledger = wiring.ledger
    try:
        projector = wiring.overview()
        projector.catch_up()
        scope = out.actor_scope(wiring)
        counts = projector.store.status_counts(wiring.tenants().among(scope))
    finally:
        ledger.close()
    if as_json:
        out.print_json(counts)
        return
    table = Table(title="Submissions by status")
    table.add_column("status")
    table.add_column("count", justify="right")
    for status, count in sorted(counts.items()):
        table.add_row(status, str(count))
    table.add_row("[b]total[/b]", str(sum(counts.values())))
    out.console.print(table)


def verify(
    submission_id: Annotated[UUID | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all", help="verify every submission")] = False,
    checkpoint: Annotated[
        bool,
        typer.Option(
            "--checkpoint",
            help="also prove every submission against the signed checkpoints (implies --all)",
        ),
    ] = False,
    purpose: out.PurposeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check hash chains and the relay's witness; exit code 1 on any break.

    ``--checkpoint`` verifies every checkpoint file's signature and their chain, and
    proves the ledger against the latest: no submission, event or tail deleted, edited
    or reordered since (README, "Signed checkpoints").

    Recorded in the access log: one entry for the submission, or one without a submission
    for ``--all`` and ``--checkpoint``.
    """
    if checkpoint:
        if submission_id is not None:
            raise typer.BadParameter("--checkpoint verifies every submission: give no id")
        _verify_checkpoint(purpose, as_json=as_json)
        return
    if (submission_id is None) == (not all_):
        raise typer.BadParameter("give a submission id or --all")
    wiring = out.wiring()
    scope = out.actor_scope(wiring)
    if submission_id is not None:
        out.require_in_scope(wiring, submission_id)
    elif not scope.everything:
        raise out.fail(f"--all covers every tenant; operator {scope.operator!r} has a scope", 2)
    ledger = wiring.ledger
    store = relay_stores(ledger)
    broken: list[dict[str, Any]] = []
    checked = 0
    try:
        ids = list(ledger.submission_ids()) if all_ else [submission_id]
        with out.progress(quiet=as_json or not all_) as bar:
            task = bar.add_task("verifying", total=len(ids))
            for current in ids:
                assert current is not None
                checked += 1
                try:
                    link = check_submission(ledger, store, current)
                except SubmissionNotFoundError:
                    broken.append({"submissionId": str(current), "problem": "no such submission"})
                else:
                    if link is not None:
                        broken.append(
                            {
                                "submissionId": str(current),
                                "problem": link.describe(),
                                "firstBrokenLink": dataclasses.asdict(link),
                            }
                        )
                bar.advance(task)
        out.record_read(wiring, Read.VERIFY, purpose, submission_id)
    finally:
        ledger.close()
    _report(checked, broken, as_json=as_json)


def _report(checked: int, broken: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        out.print_json({"checked": checked, "broken": broken})
    else:
        for item in broken:
            out.console.print(
                f"[red]BROKEN[/red] {item['submissionId']}: {escape(item['problem'])}",
                soft_wrap=True,
            )
            first = item.get("firstBrokenLink")
            if isinstance(first, dict) and first.get("event"):
                where = f"#{first['version']} {first['event']} recorded {first['recorded_at']}"
                out.console.print(f"  first broken link: {where}", soft_wrap=True)
        out.console.print(f"checked {checked} submission(s), {len(broken)} broken")
    if broken:
        raise typer.Exit(1)


def _verify_checkpoint(purpose: str | None, *, as_json: bool) -> None:
    wiring = out.wiring()
    try:
        proof = verify_against_checkpoints(wiring)
        out.record_read(wiring, Read.VERIFY, purpose)
    finally:
        wiring.close()
    print_proof(proof, as_json=as_json)
    if proof.findings:
        raise typer.Exit(1)


def rebuild(as_json: JsonOption = False) -> None:
    """Rebuild the read models (submissions list, counters, deliveries) from the ledger.

    The submissions overview (status list, counters, throughput) and the deliveries read
    model are forgotten and read again from the start of the ledger.
    """
    wiring = out.wiring()
    ledger = wiring.ledger
    try:
        submissions = wiring.overview()
        head = submissions.head()  # the sum of the shards' newest positions
        deliveries = wiring.deliveries()
        with out.progress(quiet=as_json) as bar:
            first = bar.add_task("rebuilding submissions", total=head or 1)
            read = {"submissions": submissions.rebuild(lambda p: bar.update(first, completed=p))}
            second = bar.add_task("rebuilding deliveries", total=head or 1)
            read["deliveries"] = deliveries.rebuild(lambda p: bar.update(second, completed=p))
        counts = submissions.store.status_counts()
    finally:
        ledger.close()
    if as_json:
        out.print_json({"position": head, "events": read, "statuses": counts})
        return
    for name, count in read.items():
        out.console.print(f"rebuilt {name}: {count} event(s) read up to position {head}")
    out.console.print(", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
