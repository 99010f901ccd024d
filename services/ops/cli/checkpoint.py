"""``amtsweg checkpoint write`` and what ``amtsweg verify --checkpoint`` prints."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from events.checkpoint import CheckpointError, fold
from events.checkpoint_keys import CheckpointKeyError
from events.checkpoint_writer import Written
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
        results = [
            wiring.checkpoint_writer(shard).write_once()
            for shard in range(len(wiring.ledger.shards))
        ]
    except (CheckpointError, CheckpointKeyError) as error:
        raise out.fail(str(error)) from None
    except FileExistsError:
        raise out.fail("another writer wrote this checkpoint meanwhile; run it again") from None
    finally:
        wiring.close()
    answers = [_written(written) for written in results]
    answer = answers[0][0]
    if len(answers) > 1:  # a sharded ledger: shard 0's at the top, every shard's listed
        answer = {**answer, "shards": [a for a, _ in answers]}
    message = "\n".join(
        m if shard == 0 else f"shard {shard}: {m}" for shard, (_, m) in enumerate(answers)
    )
    if as_json:
        out.print_json(answer)
    else:
        out.console.print(message, soft_wrap=True)


def _written(written: Written | None) -> tuple[dict[str, Any], str]:
    """What ``write`` reports of one shard's checkpoint: as JSON and as a line."""
    if written is None:
        message = "the ledger did not change since the latest checkpoint: nothing written"
        return {"written": None}, message
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
    return answer, message


def verify_against_checkpoints(wiring: Wiring) -> Proof:
    """Fold each ledger shard's checkpoint files and prove the shard against them; one
    proof of all (the latest checkpoint shown is shard 0's)."""
    run, settings = wiring.settings.run, wiring.settings.checkpoint
    store = relay_stores(wiring.ledger)
    proofs = []
    for shard, ledger in enumerate(wiring.ledger.shards):
        try:
            directory = settings.directory(run.data_dir, development=run.development, shard=shard)
            keys = settings.public_keys(run.data_dir, development=run.development)
        except CheckpointKeyError as error:
            raise out.fail(str(error), code=2) from None
        folded = fold(directory.files(), keys.verify)
        proofs.append(prove(ledger, folded, store, directory=str(directory.path)))
    first = proofs[0]
    return Proof(
        first.latest,
        sum(p.checkpoints for p in proofs),
        sum(p.checked for p in proofs),
        [finding for p in proofs for finding in p.findings],
    )


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
