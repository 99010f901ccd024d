"""``amtsweg replay``, ``amtsweg redeliver`` and ``amtsweg relay replay``."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Annotated, Any
from uuid import UUID

import typer
from eventsourcing.persistence import PersistenceError
from rich.markup import escape
from rich.table import Table

from events.blobs import BlobNotFoundError
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import InvalidTransitionError
from events.relay_store import relay_store
from events.vault import ContentErasedError
from services.ops.actions.operator_actions import redeliver as record_redelivery
from services.ops.actions.relay_replay import MAIN_RELAY, replay_name, replay_relay
from services.ops.actions.replay import (
    RecordedVersionUnavailableError,
    ReplayPlan,
    StaleReplayError,
    plan_replay,
    record_replay,
)
from services.ops.actions.replay_stages import Against, ReplayContext, Stage
from services.ops.app.bootstrap import Wiring
from services.ops.cli import support as out
from services.ops.readmodels.overview.rows import Filters
from services.runtime.kafka import KafkaPublisher, relay_producer

relay_app = typer.Typer(help="The relay (ledger → Kafka).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ActorOption = Annotated[
    str | None, typer.Option(help="who does it (default: $AMTSWEG_OPERATOR or your login)")
]
RequestOption = Annotated[
    str | None,
    typer.Option(help="id of this request; the same id again records nothing (default: new)"),
]
_FAILURES = (
    RecordedVersionUnavailableError,
    StaleReplayError,
    SubmissionNotFoundError,
    InvalidTransitionError,
    BlobNotFoundError,
    ContentErasedError,
)


def replay(  # noqa: PLR0917 - typer options
    stage: Annotated[Stage, typer.Argument(help="the stage to run again")],
    submission_ids: Annotated[list[UUID] | None, typer.Argument(help="these submissions")] = None,
    status: Annotated[str | None, typer.Option(help="select by status")] = None,
    service: Annotated[str | None, typer.Option(help="select by LeiKa key")] = None,
    authority: Annotated[str | None, typer.Option(help="select by authority id")] = None,
    portal: Annotated[str | None, typer.Option(help="select by portal id")] = None,
    since: Annotated[str | None, typer.Option(help="received at or after (ISO 8601, 2h)")] = None,
    until: Annotated[str | None, typer.Option(help="received before (ISO 8601, 30m)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="select every submission")] = False,
    limit: Annotated[int, typer.Option(min=1, help="at most this many selected")] = 1000,
    against: Annotated[
        Against, typer.Option(help="the recorded catalog/directory version, or the current one")
    ] = Against.RECORDED,
    reason: Annotated[str | None, typer.Option(help="why (recorded; required)")] = None,
    actor: ActorOption = None,
    request_id: RequestOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a stage again for submissions and record it (a Replayed event each).

    Unchanged decisions are recorded as checked; a stage that had failed (Rejected,
    Unroutable) is decided anew; a success is never taken back.
    """
    if not dry_run and not reason:
        raise typer.BadParameter("give a --reason (it is recorded), or use --dry-run")
    filters = Filters(
        status, service, authority, portal, out.parse_time(since), out.parse_time(until)
    )
    if not submission_ids and not all_ and filters == Filters():
        raise typer.BadParameter("give submission ids, filters, or --all")
    request = request_id or str(uuid.uuid4())
    who = actor or out.default_actor()
    wiring = out.wiring()
    for submission_id in submission_ids or []:
        out.require_in_scope(wiring, submission_id, who)
    filters = out.scoped_filters(wiring, filters, who)
    ledger = wiring.ledger
    try:
        ids = list(submission_ids or []) or _select(wiring, filters, limit)
        context = wiring.replay_context
        results = _replay_all(
            ledger, context, ids, stage, against, dry_run, (who, reason or "", request), as_json
        )
    finally:
        ledger.close()
    _report(results, dry_run=dry_run, request=request, as_json=as_json)
    if any("error" in result for result in results):
        raise typer.Exit(1)


def _select(wiring: Wiring, filters: Filters, limit: int) -> list[UUID]:
    projector = wiring.overview()
    projector.catch_up()
    return [UUID(row.submission_id) for row in projector.store.select(filters, limit)]


def _replay_all(  # noqa: PLR0917 - the command's choices
    ledger: Ledger,
    context: ReplayContext,
    ids: list[UUID],
    stage: Stage,
    against: Against,
    dry_run: bool,
    who: tuple[str, str, str],
    quiet: bool,
) -> list[dict[str, Any]]:
    actor, reason, request = who
    results: list[dict[str, Any]] = []
    with out.progress(quiet=quiet or len(ids) < 2) as bar:
        task = bar.add_task(f"replaying {stage}", total=len(ids))
        for submission_id in ids:
            try:
                plan = plan_replay(ledger, context, submission_id, stage, against)
                recorded = None
                if not dry_run and plan.outcome is not None:
                    recorded = record_replay(
                        ledger, plan, actor=actor, reason=reason, request_id=request
                    )
                results.append(_result(plan, recorded))
            except (*_FAILURES, PersistenceError) as error:
                results.append({"submissionId": str(submission_id), "error": str(error)})
            bar.advance(task)
    return results


def _result(plan: ReplayPlan, recorded: bool | None) -> dict[str, Any]:
    fields = dataclasses.asdict(plan)
    fields.pop("pending", None)
    return {
        "submissionId": str(plan.submission_id),
        "stage": str(plan.stage),
        "against": str(plan.against),
        "status": str(plan.status),
        "version": plan.version,
        "recorded": plan.recorded,
        "decision": plan.decision,
        "outcome": plan.outcome,
        "note": plan.note,
        "events": plan.events,
        "written": recorded,
    }


def _report(results: list[dict[str, Any]], *, dry_run: bool, request: str, as_json: bool) -> None:
    if as_json:
        out.print_json({"dryRun": dry_run, "requestId": request, "results": results})
        return
    title = "Replay (dry run: nothing recorded)" if dry_run else f"Replay {request}"
    table = Table(title=title)
    for column in ("submission", "status", "recorded", "decision now", "outcome", "events"):
        table.add_column(column, overflow="fold")
    for result in results:
        if "error" in result:
            table.add_row(
                result["submissionId"], "", "", "", "[red]error[/red]", escape(result["error"])
            )
            continue
        written = result["written"]
        events = " + ".join(result["events"]) or "-"
        if written is False:
            events = "already recorded by this request"
        elif dry_run and result["events"]:
            events = f"would record {events}"
        table.add_row(
            result["submissionId"],
            result["status"],
            escape(result["recorded"] or "-"),
            escape(result["decision"] or "-"),
            result["outcome"] or "not applicable",
            escape(events if result["outcome"] else result["note"]),
        )
    out.console.print(table)


def redeliver(
    submission_id: UUID,
    reason: Annotated[str, typer.Option(help="why (recorded)")],
    actor: ActorOption = None,
    request_id: RequestOption = None,
    as_json: JsonOption = False,
) -> None:
    """Announce a delivery again: same delivery id and envelope, a new notice (Redelivered).

    The relay republishes the envelope on the authority's topic; a callback, if the
    authority has one, starts afresh.
    """
    request = request_id or str(uuid.uuid4())
    wiring = out.wiring()
    out.require_in_scope(wiring, submission_id, actor)
    ledger = wiring.ledger
    try:
        recorded = record_redelivery(
            ledger,
            submission_id,
            actor=actor or out.default_actor(),
            reason=reason,
            request_id=request,
        )
        submission = ledger.get_submission(submission_id)
    except (SubmissionNotFoundError, InvalidTransitionError) as error:
        message = (
            f"No submission {submission_id}"
            if isinstance(error, SubmissionNotFoundError)
            else str(error)
        )
        raise out.fail(message) from None
    finally:
        ledger.close()
    answer = {
        "submissionId": str(submission_id),
        "deliveryId": submission.delivery_id,
        "notice": submission.notice,
        "requestId": request,
        "recorded": recorded,
    }
    if as_json:
        out.print_json(answer)
        return
    what = "recorded" if recorded else "already recorded by this request"
    out.console.print(
        f"Redelivered {submission.delivery_id} (notice {submission.notice}): {what}; "
        "the relay publishes it"
    )


@relay_app.command("replay")
def relay_replay_command(
    start: Annotated[int, typer.Option("--from", min=1, help="first ledger position to publish")],
    until: Annotated[int | None, typer.Option("--to", help="last position (default: now)")] = None,
    name: Annotated[
        str | None, typer.Option(help="relay name (default: replay-<from>-<time>)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Publish ledger events to Kafka again from a position, as a separate relay.

    The main relay stays where it is; consumers downstream are idempotent.
    """
    wiring = out.wiring()
    bootstrap = out.require_broker(wiring.settings.run)
    relay_name = name or replay_name(start)
    if relay_name == MAIN_RELAY:
        raise typer.BadParameter("the main relay is never moved back; give another --name")
    ledger = wiring.ledger
    try:
        head = int(ledger.recorder.max_notification_id() or 0)
        end = min(until or head, head)
        store = relay_store(ledger.settings)
        published = asyncio.run(
            _publish(wiring, store, bootstrap, (start, end), relay_name, quiet=as_json)
        )
        main = store.position(MAIN_RELAY)
    finally:
        ledger.close()
    answer = {"relay": relay_name, "from": start, "to": end, "published": published}
    answer |= {"mainRelayPosition": main, "head": head}
    if as_json:
        out.print_json(answer)
        return
    out.console.print(
        f"relay {relay_name}: published {published} event(s), positions {start}…{end} "
        f"(main relay at {main}, ledger head {head})"
    )


async def _publish(
    wiring: Wiring, store: Any, bootstrap: str, span: tuple[int, int], name: str, *, quiet: bool
) -> int:
    start, end = span
    if end < start:
        return 0
    producer = relay_producer(
        bootstrap,
        max_message_bytes=wiring.settings.run.kafka_max_message_bytes,
        security=wiring.settings.kafka,
    )
    await producer.start()
    try:
        with out.progress(quiet=quiet) as bar:
            task = bar.add_task(f"publishing from {start}", total=end - start + 1)
            return await replay_relay(
                wiring.ledger,
                store,
                KafkaPublisher(producer),
                envelopes=wiring.vault.envelope,
                sign_envelopes=wiring.envelope_signer.sign,
                start=start,
                until=end,
                name=name,
                progress=lambda position: bar.update(task, completed=position - start + 1),
            )
    finally:
        await producer.stop()
