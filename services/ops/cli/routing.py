"""``amtsweg route explain``, ``amtsweg directory check`` and ``amtsweg triage …``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

from events.ledger import SubmissionNotFoundError
from events.lifecycle import InvalidTransitionError
from services.ops.actions.access_log import Read
from services.ops.actions.triage import UnknownAuthorityError, assign, triage_queue
from services.ops.cli import support
from services.routing.context import RoutingContext, Sources, build_context
from services.routing.decision import decide
from services.routing.directory_file import DirectoryError
from services.routing.postcodes import PostcodeDataError
from services.routing.regions import RegionDataError
from services.routing.resolve import Routed, matching_competences
from services.routing.settings import RoutingSettings

route_app = typer.Typer(help="Explain routing decisions.", no_args_is_help=True)
directory_app = typer.Typer(help="Check authority directory files.", no_args_is_help=True)
triage_app = typer.Typer(help="Unroutable submissions: list, assign.", no_args_is_help=True)
console = Console(soft_wrap=True)

DirectoryOption = Annotated[
    Path | None, typer.Option(help="directory file (default: AMTSWEG_ROUTING_DIRECTORY)")
]


def _context(directory: Path | None, settings: RoutingSettings) -> RoutingContext:
    try:
        sources = Sources.read(
            directory or settings.directory, settings.regions, settings.postcodes
        )
        return build_context(sources)
    except (OSError, RegionDataError, PostcodeDataError) as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    except DirectoryError as error:
        console.print(f"[red]{len(error.problems)} problem(s):[/red]")
        for problem in error.problems:
            console.print(f"  {problem}", markup=False)
        raise typer.Exit(1) from None


def _hint(region: str, municipality: str | None) -> dict[str, str]:
    key = "".join(region.split())
    kinds = {12: "ars", 8: "ags", 5: "postalCode"}
    if not key.isdigit() or len(key) not in kinds:
        raise typer.BadParameter("a 12-digit ARS, an 8-digit AGS or a 5-digit postal code")
    hint = {kinds[len(key)]: key}
    if municipality:
        hint["municipality"] = municipality
    return hint


@route_app.command("explain")
def explain(
    leika: Annotated[str, typer.Argument(help="LeiKa key of the service (14 digits)")],
    region: Annotated[str, typer.Argument(help="ARS (12 digits), AGS (8) or postal code (5)")],
    municipality: Annotated[
        str | None, typer.Option(help="municipality name, for a postal code that spans several")
    ] = None,
    directory: DirectoryOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the decision and why: matched competence, directory version, runners-up."""
    context = _context(directory, RoutingSettings())
    decision = decide(context, leika, _hint(region, municipality))
    outcome = decision.outcome
    candidates = decision.location.candidates if decision.location else ()
    levels = {ars: matching_competences(context.directory, leika, ars) for ars in candidates}
    report: dict[str, Any] = {
        "directoryVersion": context.version,
        "service": {"leika": leika, "name": context.directory.services.get(leika)},
        "resolution": decision.resolution(),
        "region": decision.region,
        "outcome": asdict(outcome) | {"kind": type(outcome).__name__},
        "competences": {
            ars: [
                {"id": c.id, "authority": c.authority, "area": c.area, "level": c.level}
                for c in found
            ]
            for ars, found in levels.items()
        },
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    _print_explanation(context, decision.region, outcome, levels)


def _print_explanation(
    context: RoutingContext, region: str, outcome: Any, levels: dict[str, list[Any]]
) -> None:
    directory = context.directory
    console.print(f"directory version [bold]{context.version}[/bold]", highlight=False)
    for ars, found in levels.items():
        console.print(f"region {ars} {context.regions.name(ars) or ''}", highlight=False)
        for position, competence in enumerate(found):
            authority = directory.authority(competence.authority)
            mark = (
                "→" if isinstance(outcome, Routed) and competence.id == outcome.competence else " "
            )
            label = "match" if position == 0 else "runner-up"
            console.print(
                f"  {mark} {label:9} {competence.level:12} {competence.area:12} "
                f"{competence.authority} ({authority.name if authority else '?'})",
                markup=False,
                highlight=False,
            )
        if not found:
            console.print("    no competence for this service at any level", highlight=False)
    if isinstance(outcome, Routed):
        console.print(
            f"[green]routed[/green] to {outcome.authority_id} for {region}, "
            f"competence {outcome.competence}",
            highlight=False,
        )
    else:
        console.print(
            f"[yellow]unroutable[/yellow] ({outcome.reason_code}): {outcome.detail}",
            highlight=False,
        )


@directory_app.command("check")
def check(
    file: Annotated[Path | None, typer.Argument(help="default: AMTSWEG_ROUTING_DIRECTORY")] = None,
) -> None:
    """Check a directory file against the key lists; exit 1 with every problem listed."""
    settings = RoutingSettings()
    context = _context(file, settings)
    directory = context.directory
    console.print(
        f"[green]ok[/green] {file or settings.directory}: version {context.version}, "
        f"{len(directory.authorities)} authorities, {len(directory.competences)} competences, "
        f"{len(directory.services)} services",
        highlight=False,
    )


@triage_app.command("list")
def triage_list(
    purpose: support.PurposeOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Unroutable submissions, oldest first (from the ledger; recorded in the access log)."""
    wiring = support.wiring()
    scope = support.actor_scope(wiring)
    tenants = wiring.tenants()
    try:
        items = [
            item
            for item in triage_queue(wiring.ledger)
            if tenants.sees(scope, item.portal_id, item.authority_id)
        ]
        support.record_read(wiring, Read.TRIAGE, purpose)
    finally:
        wiring.close()
    if as_json:
        typer.echo(json.dumps([asdict(item) for item in items], indent=2, ensure_ascii=False))
        return
    for item in items:
        declined = f" (declined by {', '.join(item.declined_by)})" if item.declined_by else ""
        console.print(
            f"{item.submission_id}  {item.since}  {item.leika_key}  {item.reason}{declined}\n"
            f"    {item.detail}",
            markup=False,
            highlight=False,
        )
    console.print(f"{len(items)} unroutable submission(s)")


@triage_app.command("assign")
def triage_assign(
    submission_id: UUID,
    authority: Annotated[str, typer.Option(help="the authority id to deliver to")],
    by: Annotated[str, typer.Option(help="who assigns (operator)")],
    reason: Annotated[str, typer.Option(help="why this authority")],
    directory: DirectoryOption = None,
) -> None:
    """Assign an authority to an unroutable submission; delivery follows."""
    if not by.strip() or not reason.strip():
        raise typer.BadParameter("--by and --reason must not be empty")
    context = _context(directory, RoutingSettings())
    wiring = support.wiring()
    support.require_in_scope(wiring, submission_id, by)
    ledger = wiring.ledger
    try:
        changed = assign(ledger, context.directory, submission_id, authority, by=by, reason=reason)
    except (UnknownAuthorityError, SubmissionNotFoundError, InvalidTransitionError) as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        ledger.close()
    state = "assigned" if changed else "already assigned (nothing changed)"
    console.print(f"{submission_id}: {state} to {authority}", highlight=False)
