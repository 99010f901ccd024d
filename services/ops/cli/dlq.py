"""``amtsweg dlq list|retry|drop``: the intake's dead letters and failed delivery callbacks."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from events.ledger import SubmissionNotFoundError
from events.lifecycle import InvalidTransitionError
from services.ops.actions.access_log import Read
from services.ops.actions.dead_letters import (
    INTAKE,
    KINDS,
    BrokerUnavailableError,
    DeadLetter,
    LetterNotFoundError,
    NotRetryableError,
)
from services.ops.cli import support as out

dlq_app = typer.Typer(
    help="Dead letters: refused intake messages (amtsweg.intake.dlq), deliveries whose "
    "callback gave up, and messages or events parked by a stage or the relay.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ActorOption = Annotated[
    str | None, typer.Option(help="who does it (default: $AMTSWEG_OPERATOR or your login)")
]


@dlq_app.command("list")
def dlq_list(
    kind: Annotated[str | None, typer.Option(help=f"only one of {', '.join(KINDS)}")] = None,
    purpose: out.PurposeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dead letters nobody has retried or dropped yet, oldest first (in the access log)."""
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"--kind is one of {', '.join(KINDS)}")
    wiring = out.wiring()
    ledger = wiring.ledger
    try:
        letters = wiring.dead_letters(out.bootstrap_servers(wiring.settings.run))
        if kind is None and not letters.has_broker and not as_json:
            out.warn("No broker configured: intake dead letters not listed.")
        waiting = asyncio.run(letters.waiting(kind))
        out.record_read(wiring, Read.DEAD_LETTERS, purpose)
    except BrokerUnavailableError as error:
        raise out.fail(str(error), 2) from None
    finally:
        ledger.close()
    if as_json:
        out.print_json([letter.as_json() for letter in waiting])
        return
    table = Table(title=f"Dead letters ({len(waiting)})")
    for column in ("id", "at", "problem", "from", "detail"):
        table.add_column(column, overflow="fold")
    for letter in waiting:
        origin = letter.portal_id or letter.authority_id or ""
        table.add_row(
            letter.letter_id, letter.at, letter.problem, escape(origin), escape(letter.detail)
        )
    out.console.print(table)


@dlq_app.command("retry")
def dlq_retry(
    letter_id: Annotated[str, typer.Argument(help="as `dlq list` shows it")],
    reason: Annotated[str, typer.Option(help="why (recorded)")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retry: an intake letter goes to amtsweg.intake again; a delivery gets one more callback."""
    _act(letter_id, "retry", reason, actor, as_json)


@dlq_app.command("drop")
def dlq_drop(
    letter_id: Annotated[str, typer.Argument(help="as `dlq list` shows it")],
    reason: Annotated[str, typer.Option(help="why (recorded)")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that a dead letter is dealt with; `dlq list` no longer shows it."""
    _act(letter_id, "drop", reason, actor, as_json)


def _act(letter_id: str, action: str, reason: str, actor: str | None, as_json: bool) -> None:
    who = actor or out.default_actor()
    needs_broker = letter_id.startswith(f"{INTAKE}-")
    wiring = out.wiring()
    ledger = wiring.ledger
    try:
        servers = out.require_broker(wiring.settings.run) if needs_broker else None
        letters = wiring.dead_letters(servers)
        handle = letters.retry if action == "retry" else letters.drop
        letter: DeadLetter = asyncio.run(handle(letter_id, actor=who, reason=reason))
    except (LetterNotFoundError, NotRetryableError, InvalidTransitionError) as error:
        raise out.fail(f"{action} refused: {error}") from None
    except SubmissionNotFoundError as error:
        raise out.fail(f"{action} refused: no submission {error}") from None
    finally:
        ledger.close()
    done = "retried" if action == "retry" else "dropped"
    if as_json:
        out.print_json({"letter": letter.as_json(), "action": done, "actor": who})
        return
    out.console.print(f"{done} {letter.letter_id} ({letter.problem}) for {who}")
