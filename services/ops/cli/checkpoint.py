"""``amtsweg checkpoint write`` and what ``amtsweg verify --checkpoint`` prints."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from events.checkpoint import CheckpointError, fold
from events.checkpoint_keys import CheckpointKeyError
from events.shard_relay_stores import relay_stores
from services.ops.actions.checkpoint_proof import Proof, prove
from services.ops.app.bootstrap import Wiring
from services.ops.cli import support as out

checkpoint_app = typer.Typer(
    help="Signed checkpoints of the ledger's chain heads.", no_args_is_help=True
)


@checkpoint_app.command("write")
def write(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Write a signed checkpoint now (the `checkpoint` service does it periodically).

    Nothing is written when the ledger did not change since the latest checkpoint.
    """
    wiring = out.wiring()
    try:
        written = wiring.checkpoint_writer().write_once()
    except (CheckpointError, CheckpointKeyError) as error:
        raise out.fail(str(error)) from None
    except FileExistsError:
        raise out.fail("another writer wrote this checkpoint meanwhile; run it again") from None
    finally:
        wiring.close()
    if written is None:
        answer: dict[str, Any] = {"written": None}
        message = "the ledger did not change since the latest checkpoint: nothing written"
    else:
        checkpoint = written.checkpoint
        answer = {
            "written": str(written.path),
            "sequence": checkpoint.sequence,
            "position": checkpoint.position,
            "events": checkpoint.events,
            "submissions": len(checkpoint.heads),
            "kid": checkpoint.kid,
        }
        message = (
            f"wrote {written.path}: checkpoint {checkpoint.sequence} at position "
            f"{checkpoint.position} ({checkpoint.events} events, {len(checkpoint.heads)} "
            f"submission(s) changed), kid {checkpoint.kid}"
        )
    if as_json:
        out.print_json(answer)
    else:
        out.console.print(message, soft_wrap=True)


def verify_against_checkpoints(wiring: Wiring) -> Proof:
    """Fold the checkpoint files and prove the ledger against them."""
    run, settings = wiring.settings.run, wiring.settings.checkpoint
    try:
        directory = settings.directory(run.data_dir, development=run.development)
        keys = settings.public_keys(run.data_dir, development=run.development)
    except CheckpointKeyError as error:
        raise out.fail(str(error), code=2) from None
    folded = fold(directory.files(), keys.verify)
    store = relay_stores(wiring.ledger)
    return prove(wiring.ledger, folded, store, directory=str(directory.path))


def print_proof(proof: Proof, *, as_json: bool) -> None:
    """The findings as a table (or JSON), and a summary line."""
    latest = proof.latest
    about = (
        None
        if latest is None
        else {
            "sequence": latest.sequence,
            "position": latest.position,
            "events": latest.events,
            "createdAt": latest.created_at,
            "kid": latest.kid,
        }
    )
    if as_json:
        broken = [dataclasses.asdict(f) for f in proof.findings]
        out.print_json(
            {
                "checked": proof.checked,
                "checkpoints": proof.checkpoints,
                "latest": about,
                "broken": broken,
            }
        )
        return
    if proof.findings:
        table = Table(title="Against the signed checkpoints")
        for column in ("finding", "subject", "problem"):
            table.add_column(column, overflow="fold")
        for finding in proof.findings:
            table.add_row(f"[red]{finding.kind}[/red]", finding.subject, escape(finding.problem))
        out.console.print(table)
    where = (
        "no checkpoint"
        if latest is None
        else f"checkpoint {latest.sequence} (position {latest.position}, {latest.created_at})"
    )
    out.console.print(
        f"checked {proof.checked} submission(s) against {where}, "
        f"{proof.checkpoints} checkpoint(s) verified, {len(proof.findings)} finding(s)",
        soft_wrap=True,
    )
