"""``amtsweg authority …`` (the reference receiver, keys) and ``amtsweg deliveries``."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from contracts.kafka_security import KafkaSecurity, KafkaSecurityError
from contracts.keys import generate_keys
from contracts.limits import MAX_PART_BYTES
from receiver.consume import ReceiverConfig, consume
from receiver.inbox import INBOX_FILE, Inbox
from receiver.keys import KeyFileError, Signer, read_private_jwk
from receiver.origin import ApiOrigin
from receiver.reply import (
    Addressee,
    Answer,
    ReplyDraft,
    build_reply,
    delivery_of,
    describe,
    post_reply,
    produce_reply,
    reply_body,
)
from receiver.unpack import ReceiverError
from services.delivery.dev_keys import DevelopmentKeyError, DevelopmentKeyPair, DevelopmentKeys
from services.delivery.signing import DEVELOPMENT_FILE, EnvelopeSigner, SigningKeyError
from services.ops.actions.access_log import Read
from services.ops.app.settings import Settings
from services.ops.cli import support

authority_app = typer.Typer(
    help="For receiving authorities: the reference receiver and keys.", no_args_is_help=True
)
console = Console()


@authority_app.command("consume")
def authority_consume(  # noqa: PLR0917 - typer options
    authority: Annotated[str, typer.Option(help="your authority id (as in the directory)")],
    out: Annotated[Path, typer.Option(help="folder for the applications (and the dedupe file)")],
    key: Annotated[
        Path | None, typer.Option(help="private JWK file (decryption key)", exists=True)
    ] = None,
    signing_key: Annotated[
        Path | None, typer.Option(help="private JWK file: sign receipts", exists=True)
    ] = None,
    exec_: Annotated[
        str | None,
        typer.Option("--exec", help="command run with each application folder as argument"),
    ] = None,
    api: Annotated[
        str | None, typer.Option(help="Amtsweg's HTTP API, to fetch large parts")
    ] = None,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="consumer group (default: per authority)")
    ] = None,
    stop_when_idle: Annotated[
        float | None, typer.Option(help="stop after this many seconds without a message")
    ] = None,
    max_part_bytes: Annotated[
        int,
        typer.Option(help="largest part to decrypt: the Amtsweg instance's intake part limit"),
    ] = MAX_PART_BYTES,
    amtsweg_keys: Annotated[
        Path | None,
        typer.Option(
            help="Amtsweg's public envelope signing keys (JWK Set file); default: GET /v1/keys",
            exists=True,
        ),
    ] = None,
) -> None:
    """Receive deliveries: dedupe, decrypt, check hashes, write folders, send receipts.

    Without --key or --signing-key, the authority's development keys in the data dir
    (AMTSWEG_DATA_DIR/authority-keys/<authority>.jwk.json) stand in, if there are any; with
    AMTSWEG_DEVELOPMENT they are made now when Amtsweg has not made them yet.
    Every envelope must carry Amtsweg's signature: it is checked with the keys of
    --amtsweg-keys, or else those the API publishes (GET /v1/keys); an unsigned or
    wrongly signed envelope is skipped. Parts are fetched only under --api.
    The API token comes from AMTSWEG_AUTHORITY_TOKEN; Kafka security options from
    KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE, KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE
    (as for every Amtsweg client; see README, "Kafka security").
    """
    if not bootstrap_servers:
        raise typer.BadParameter("give --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS")
    try:
        decryption = read_private_jwk(key) if key else None
        signing = read_private_jwk(signing_key) if signing_key else None
        if decryption is None or signing is None:
            development = _development_keys(authority)
            if development is not None:
                decryption = decryption or development.encryption
                signing = signing or development.signing
        config = ReceiverConfig(
            authority_id=authority,
            bootstrap_servers=bootstrap_servers,
            out=out,
            decryption_key=decryption,
            signing_key=signing,
            api=api,
            token=os.environ.get("AMTSWEG_AUTHORITY_TOKEN"),
            command=shlex.split(exec_) if exec_ else None,
            group_id=group,
            stop_when_idle=stop_when_idle,
            kafka=KafkaSecurity.from_environment().client_options(),
            max_part_bytes=max_part_bytes,
            amtsweg_keys=_key_set(amtsweg_keys) if amtsweg_keys else _development_key_set(api),
        )
        summary = asyncio.run(consume(config))
    except (ReceiverError, KeyFileError, DevelopmentKeyError, KafkaSecurityError) as error:
        console.print(f"[red]Stopped: {error}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(
        f"handed over {summary.handed_over}, rejected {summary.rejected}, "
        f"duplicates {summary.duplicates}, skipped {summary.skipped}, "
        f"refused (not signed by Amtsweg) {summary.refused}, "
        f"supplements {summary.supplements}, overdue notices {summary.notices}"
    )


def _key_set(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeyFileError(f"{path}: {error}") from error
    if not isinstance(document, dict):
        raise KeyFileError(f"{path}: not a JWK Set")
    return document


def _development_key_set(api: str | None) -> dict[str, Any] | None:
    """Without --api: the public halves of Amtsweg's development signing keys in the data
    dir, if this machine's Amtsweg made them (``services.delivery.signing``)."""
    if api is not None:
        return None
    path = Settings.from_environment().run.data_dir / DEVELOPMENT_FILE
    if not path.exists():
        return None
    console.print(f"Verifying envelopes with the development signing keys in {path}")
    try:
        return EnvelopeSigner.read(path).jwks()
    except SigningKeyError as error:
        raise KeyFileError(str(error)) from error


def _development_keys(authority_id: str) -> DevelopmentKeyPair | None:
    """The authority's development keys: found, or in development made (as delivery would)."""
    run = Settings.from_environment().run
    keys = DevelopmentKeys(run.development_keys_folder())
    pair = keys.get(authority_id) if run.development else keys.find(authority_id)
    if pair is not None:
        console.print(f"Using the development keys in {keys.path(authority_id)}")
    return pair


class ReplyKindChoice(StrEnum):
    """What a reply is."""

    STATUS = "status"
    REQUEST = "request"
    DECISION = "decision"


@authority_app.command("reply")
def authority_reply(  # noqa: PLR0917 - typer options
    target: Annotated[
        str,
        typer.Argument(
            metavar="SUBMISSION_OR_DELIVERY",
            help="the delivery id (or the submission id, when --inbox knows its delivery)",
        ),
    ],
    authority: Annotated[str, typer.Option(help="your authority id (as in the directory)")],
    kind: Annotated[ReplyKindChoice, typer.Option(help="status, request or decision")],
    subject: Annotated[str, typer.Option(help="the reply's subject line")],
    text: Annotated[str, typer.Option(help="the message to the applicant")] = "",
    requested: Annotated[
        list[str] | None, typer.Option(help="what is missing (a request; repeat the option)")
    ] = None,
    due: Annotated[
        str | None, typer.Option(help="a request's deadline, ISO 8601 with zone")
    ] = None,
    reference: Annotated[str | None, typer.Option(help="your file number")] = None,
    part: Annotated[
        list[Path] | None, typer.Option(help="a document (e.g. the Bescheid as PDF); repeatable")
    ] = None,
    sign_with: Annotated[
        Path | None, typer.Option(help="private JWK file: sign the reply", exists=True)
    ] = None,
    reply_id: Annotated[
        str | None, typer.Option(help="your id of the reply (the same id again: a retry)")
    ] = None,
    inbox: Annotated[
        Path | None, typer.Option(help="the receiver's --out folder: knows your deliveries")
    ] = None,
    api: Annotated[str | None, typer.Option(help="Amtsweg's HTTP API")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="AMTSWEG_AUTHORITY_TOKEN", help="your API token")
    ] = None,
    kafka: Annotated[
        bool, typer.Option("--kafka", help="send on amtsweg.delivery.receipts, not over HTTP")
    ] = False,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap")
    ] = None,
) -> None:
    """Reply to the applicant: a status message, a request for documents, or a decision.

    Over HTTP (--api, the token from AMTSWEG_AUTHORITY_TOKEN) by default; with --kafka on
    the receipts topic (up to Kafka's message size: large decisions go over HTTP). Signed
    with --sign-with, or else with your development signing key where there is one.
    """
    if kafka and not bootstrap_servers:
        raise typer.BadParameter("--kafka needs --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS")
    draft = ReplyDraft(
        kind=kind.value,
        subject=subject,
        text=text,
        requested=tuple(requested or ()),
        due=due,
        reference=reference,
        documents=tuple(part or ()),
    )
    try:
        signing = read_private_jwk(sign_with) if sign_with else None
        if signing is None:
            development = _development_keys(authority)
            signing = development.signing if development else None
        if signing is None:
            console.print("[yellow]No signing key: the reply goes unsigned[/yellow]")
        answer = asyncio.run(
            _send_reply(
                target,
                authority,
                draft,
                reply_id or str(uuid.uuid4()),
                Signer(signing) if signing else None,
                _ReplyRoute(inbox, api, token, bootstrap_servers if kafka else None),
            )
        )
    except (ReceiverError, KeyFileError, DevelopmentKeyError, KafkaSecurityError) as error:
        console.print(f"[red]Stopped: {error}[/red]")
        raise typer.Exit(1) from None
    console.print(describe(answer) if isinstance(answer, Answer) else answer)
    if isinstance(answer, Answer) and not answer.ok:
        raise typer.Exit(1)


@dataclass(frozen=True)
class _ReplyRoute:
    """Where a reply's delivery is looked up and where the reply goes."""

    inbox: Path | None
    api: str | None
    token: str | None
    bootstrap_servers: str | None
    """Set: on the receipts topic."""


async def _send_reply(  # noqa: PLR0917 - one step of authority_reply
    target: str,
    authority: str,
    draft: ReplyDraft,
    reply_id: str,
    signer: Signer | None,
    route: _ReplyRoute,
) -> Answer | str:
    origin = ApiOrigin.of(route.api) if route.api else None
    headers = {"Authorization": f"Bearer {route.token}"} if route.token else {}
    async with httpx.AsyncClient(headers=headers, timeout=60, follow_redirects=False) as http:
        addressee = _known_delivery(route.inbox, target, authority)
        if addressee is None:
            if origin is None:
                raise ReceiverError("give --inbox (the receiver's folder) or --api to find it")
            addressee = await delivery_of(http, origin, target)
        body = reply_body(build_reply(reply_id, addressee, draft), signer)
        if route.bootstrap_servers is not None:
            options = KafkaSecurity.from_environment().client_options()
            await produce_reply(route.bootstrap_servers, options, addressee.submission_id, body)
            return f"reply {reply_id}: sent on the receipts topic"
        if origin is None:
            raise ReceiverError("give --api (or --kafka) to send the reply")
        return await post_reply(
            http, origin, addressee.delivery_id, body, signed=signer is not None
        )


def _known_delivery(inbox: Path | None, target: str, authority: str) -> Addressee | None:
    """The delivery the receiver handled under this delivery or submission id."""
    if inbox is None or not (inbox / INBOX_FILE).exists():
        return None
    handled = Inbox(inbox)
    try:
        found = handled.find(target)
    finally:
        handled.close()
    return Addressee(found.delivery_id, found.submission_id, authority) if found else None


@authority_app.command("keys")
def authority_keys(
    kid: Annotated[str, typer.Option(help="key id prefix, e.g. your authority id + date")],
    out: Annotated[Path, typer.Option(help="folder for the four JWK files")],
    bits: Annotated[int, typer.Option(help="RSA key size")] = 4096,
) -> None:
    """Create an encryption and a signing key pair; the public halves go into the directory."""
    out.mkdir(parents=True, exist_ok=True)
    for name, jwk in generate_keys(kid, bits).items():
        path = out / f"{name}.jwk.json"
        path.touch(mode=0o600 if "private" in name else 0o644, exist_ok=False)
        path.write_text(json.dumps(jwk, indent=2))
        console.print(f"wrote {path}")
    console.print(
        'Directory entry: "keys": {"encryption": <encryption-public>, '
        '"verification": <signing-public>}'
    )


def deliveries(
    state: Annotated[
        str | None,
        typer.Option(help="only: dispatched, reminded, escalated, dead-letter, accepted, refused"),
    ] = None,
    limit: Annotated[int, typer.Option(help="newest first, at most this many")] = 100,
    purpose: support.PurposeOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Deliveries and where they stand (for operations: dead letters, escalations).

    Recorded in the access log (one entry, no submission).
    """
    wiring = support.wiring()
    try:
        projector = wiring.deliveries()
        projector.catch_up()
        rows = [r for r in projector.store.recent(limit) if state in (None, r.label())]
        support.record_read(wiring, Read.DELIVERIES, purpose)
    finally:
        wiring.close()
    if as_json:
        listing = [{**r.__dict__, "label": r.label()} for r in rows]
        typer.echo(json.dumps(listing, indent=2))
        return
    table = Table(title="Deliveries")
    for column in ("delivery", "submission", "authority", "state", "dispatched", "callbacks"):
        table.add_column(column)
    for row in rows:
        dispatched = datetime.fromtimestamp(row.dispatched_at, UTC).isoformat(timespec="seconds")
        table.add_row(
            row.delivery_id,
            row.submission_id,
            row.authority_id,
            row.label(),
            dispatched,
            str(row.callback_attempts),
        )
    console.print(table)
