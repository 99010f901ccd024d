"""``amtsweg portal …``: the reference portal, the portal's side of a case.

``submit`` an application, ``status``, ``watch`` its trail and replies, ``replies`` (and
save their parts, hashes checked, decrypted with the portal's key), hand in documents
later (``supplement``), fetch a proof of receipt (``confirmation``) and check one offline
(``verify-receipt``). The HTTP side is :mod:`services.ops.cli.portal_client` (httpx and
the contracts only). ``--api`` and ``--token`` (or ``--token-file``) default to
``AMTSWEG_PORTAL_API`` and ``AMTSWEG_PORTAL_TOKEN``.

Exit codes: 0 done; 1 Amtsweg refused (its problem is printed), a part's hash does not
match, or (``verify-receipt``) the proof does not hold; 2 an input cannot be read; 3
``watch`` timed out, or (``verify-receipt``) the signature holds but no checkpoint given
names the submission yet.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from contracts.confirmation import ConfirmationError, verify_confirmation
from contracts.envelope_signature import EnvelopeSignatureError, keys_by_id
from events.checkpoint import CheckpointError, Head, fold, read_document
from events.checkpoint_keys import CheckpointKeyError, PublicKeys
from events.checkpoint_store import CheckpointDirectory
from receiver.keys import Decrypter, DecryptionError, KeyFileError, read_private_jwk
from services.ops.actions.receipt_proof import TrailFormatError, included, trail_links
from services.ops.cli import support as out
from services.ops.cli.portal_client import (
    Decrypt,
    PartHashError,
    PortalApiError,
    PortalClient,
    Upload,
    Watch,
    event_line,
    fill_hashes,
    reply_line,
    save_reply,
    supplement_request,
    unverified_claims,
)

portal_app = typer.Typer(
    help="The reference portal: submit, follow a case, replies, supplements, receipts.",
    no_args_is_help=True,
)

NOT_COVERED = 3
TIMED_OUT = 3
DEFAULT_API = "http://127.0.0.1:8080"
TRANSPORT: httpx.BaseTransport | None = None
"""The client's transport (None: the network); tests put a mock here."""

ApiOption = Annotated[
    str, typer.Option("--api", envvar="AMTSWEG_PORTAL_API", help="Amtsweg's base URL")
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="AMTSWEG_PORTAL_TOKEN", help="the portal's bearer token"),
]
TokenFileOption = Annotated[
    Path | None, typer.Option("--token-file", help="a file holding the portal's token")
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
KeyOption = Annotated[
    Path | None,
    typer.Option("--key", help="the portal's private key (JWK file) to decrypt replies"),
]


def _json_of(source: str) -> Any:
    """The JSON of a file, or of an http(s) URL."""
    try:
        if source.startswith(("http://", "https://")):
            answer = httpx.get(source, timeout=10)
            answer.raise_for_status()
            return answer.json()
        return json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError, httpx.HTTPError) as error:
        raise out.fail(f"cannot read {source} ({type(error).__name__})", code=2) from None


def _heads(checkpoint: Path, keys: PublicKeys) -> dict[str, Head]:
    """The heads of one checkpoint file, or of the fold of a directory's checkpoints."""
    if checkpoint.is_dir():
        folded = fold(CheckpointDirectory(checkpoint).files(), keys.verify)
        for finding in folded.findings:
            out.warn(f"{finding.kind} {finding.subject}: {finding.problem}")
        return folded.heads
    try:
        return dict(read_document(checkpoint.read_bytes(), keys.verify).heads)
    except OSError as error:
        raise out.fail(f"cannot read {checkpoint} ({type(error).__name__})", code=2) from None
    except CheckpointError as error:
        raise out.fail(f"{checkpoint}: {error}") from None


@portal_app.command("verify-receipt")
def verify_receipt(
    file: Annotated[Path, typer.Argument(help="the confirmation (compact JWS) as answered")],
    *,
    keys: Annotated[
        str, typer.Option(help="Amtsweg's public keys: a JWK Set file, or the URL of GET /v1/keys")
    ],
    checkpoint: Annotated[
        Path | None, typer.Option(help="a signed checkpoint file, or a directory of them")
    ] = None,
    trail: Annotated[
        Path | None, typer.Option(help="the submission's trail (GET /v1/submissions/{id}/events)")
    ] = None,
    checkpoint_keys: Annotated[
        Path | None, typer.Option(help="the checkpoint writer's public keys (a JWK Set file)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the claims as JSON")] = False,
) -> None:
    """Check a proof of receipt offline: Amtsweg's signature, its claims and, with
    --checkpoint, --trail and --checkpoint-keys, that a signed checkpoint includes it."""
    try:
        token = file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise out.fail(f"cannot read {file} ({type(error).__name__})", code=2) from None
    try:
        published = keys_by_id(_json_of(keys))
    except EnvelopeSignatureError as error:
        raise out.fail(f"{keys}: {error}", code=2) from None
    try:
        kid, confirmation = verify_confirmation(token, published)
    except ConfirmationError as error:
        raise out.fail(f"refused: {error}") from None
    what = f"submission {confirmation.submission_id}"
    if confirmation.supplement_id is not None:
        what = f"supplement {confirmation.supplement_id} to {what}"
    summary = (
        f"verified: {what} (case {confirmation.case_id}) "
        f"received {confirmation.received_at.isoformat()}, signed by {kid}"
    )
    if checkpoint is not None:
        if trail is None or checkpoint_keys is None:
            raise out.fail("--checkpoint needs --trail and --checkpoint-keys", code=2)
        try:
            writer_keys = PublicKeys.read(checkpoint_keys)
            links = trail_links(_json_of(str(trail)))
        except (CheckpointKeyError, TrailFormatError) as error:
            raise out.fail(str(error), code=2) from None
        inclusion = included(confirmation, links, _heads(checkpoint, writer_keys))
        if not inclusion.included:
            code = 1 if inclusion.covered else NOT_COVERED
            raise out.fail(f"signature holds, but: {inclusion.problem}", code=code)
        assert inclusion.head is not None
        summary += f"; included in the checkpoints (head version {inclusion.head.version})"
    if as_json:
        out.print_json({"kid": kid, "claims": confirmation.claims()})
    else:
        out.console.print(summary, soft_wrap=True)


def _client(api: str, token: str | None, token_file: Path | None) -> PortalClient:
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise out.fail(f"cannot read {token_file} ({type(error).__name__})", code=2) from None
    if not token:
        raise out.fail("no token: --token, --token-file or AMTSWEG_PORTAL_TOKEN", code=2)
    return PortalClient(api, token, transport=TRANSPORT)


def _refused(error: PortalApiError) -> typer.Exit:
    return out.fail(str(error))


def _decrypter(key: Path | None) -> Decrypt | None:
    if key is None:
        return None
    try:
        return Decrypter(read_private_jwk(key)).decrypt
    except KeyFileError as error:
        raise out.fail(str(error), code=2) from None


def _read(path: Path) -> Upload:
    try:
        return Upload.read(path)
    except OSError as error:
        raise out.fail(f"cannot read {path} ({type(error).__name__})", code=2) from None


@portal_app.command("submit")
def submit(  # noqa: PLR0917 - typer options
    metadata_file: Annotated[Path, typer.Argument(help="the FIT-Connect metadata (JSON)")],
    data_file: Annotated[Path, typer.Argument(help="the data (Fachdaten), e.g. XML")],
    attachment: Annotated[
        list[Path] | None, typer.Option("--attachment", help="an attachment (repeatable)")
    ] = None,
    routing: Annotated[
        str | None, typer.Option(help='the routing hint as JSON, e.g. \'{"ars": "053150000000"}\'')
    ] = None,
    fill: Annotated[
        bool,
        typer.Option(
            "--fill-hashes", help="fill in the SHA-512 of data and attachments in the metadata"
        ),
    ] = False,
    idempotency_key: Annotated[str | None, typer.Option(help="the same key: no duplicate")] = None,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit an application: prints its submission id and its case id."""
    metadata = _json_of(str(metadata_file))
    if not isinstance(metadata, dict):
        raise out.fail(f"{metadata_file} holds no JSON object", code=2)
    data = _read(data_file)
    attachments = [_read(path) for path in attachment or []]
    if fill:
        metadata = fill_hashes(metadata, data, attachments)
    hint = None
    if routing is not None:
        try:
            hint = json.loads(routing)
        except ValueError:
            raise out.fail("--routing is not JSON", code=2) from None
    with _client(api, token, token_file) as client:
        try:
            answer = client.submit(
                metadata, data, attachments, routing=hint, idempotency_key=idempotency_key
            )
            submission_id = str(answer["submissionId"])
            case_id = client.case_id(submission_id, answer)
        except PortalApiError as error:
            raise _refused(error) from None
    if as_json:
        out.print_json({**answer, "caseId": case_id})
        return
    out.console.print(
        f"submission {submission_id} (case {case_id or 'unknown'}): {answer.get('status')}",
        soft_wrap=True,
        highlight=False,
    )


@portal_app.command("status")
def status(
    submission_id: Annotated[str, typer.Argument(help="the submission id")],
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where a submission stands (and its case)."""
    with _client(api, token, token_file) as client:
        try:
            answer = client.status(submission_id)
            case_id = client.case_id(submission_id, answer)
        except PortalApiError as error:
            raise _refused(error) from None
    if as_json:
        out.print_json({**answer, "caseId": case_id})
        return
    problems = ", ".join(
        str(p.get("type") or p.get("reason") or "?").rsplit("/", 1)[-1]
        for p in answer.get("problems") or []
    )
    lines = [
        f"submission {answer.get('submissionId')}: {answer.get('status')}",
        f"  case {case_id or 'unknown'}, service {answer.get('serviceIdentifier')}",
        (
            f"  authority {answer.get('authorityId') or '-'}, delivery "
            f"{answer.get('deliveryId') or '-'}"
        ),
        f"  received {answer.get('receivedAt')}, updated {answer.get('updatedAt')}",
    ]
    if problems:
        lines.append(f"  problems: {problems}")
    out.console.print("\n".join(lines), soft_wrap=True, highlight=False)


_ENDED = frozenset({"rejected", "refused"})
"""Statuses after which neither an acceptance nor a decision comes."""


def _replies_or_none(client: PortalClient, submission_id: str) -> dict[str, Any]:
    try:
        return client.replies(submission_id)
    except PortalApiError as error:
        if error.status == 404 and error.slug != "submission-not-found":  # no replies route
            return {}
        raise


@portal_app.command("watch")
def watch(  # noqa: PLR0917 - typer options
    submission_id: Annotated[str, typer.Argument(help="the submission id")],
    until: Annotated[
        str, typer.Option(help="stop once it is 'accepted', or once a 'decision' came")
    ] = "decision",
    timeout: Annotated[float, typer.Option(help="give up after this many seconds (exit 3)")] = 600,
    interval: Annotated[float, typer.Option(help="seconds between polls")] = 2,
    key: KeyOption = None,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """Follow a case: print each new event of the trail and each new reply once, until it
    is accepted or a decision came (exit 1 when it ended otherwise, 3 on timeout)."""
    if until not in {"accepted", "decision"}:
        raise typer.BadParameter("--until is 'accepted' or 'decision'")
    decrypt = _decrypter(key)
    seen = Watch()
    deadline = time.monotonic() + timeout
    with _client(api, token, token_file) as client:
        while True:
            try:
                current = client.status(submission_id)
                events = client.events(submission_id)
                listing = _replies_or_none(client, submission_id)
            except PortalApiError as error:
                raise _refused(error) from None
            for event in seen.new_events(events):
                out.console.print(event_line(event), soft_wrap=True, highlight=False)
            replies = seen.new_replies(listing)
            for reply in replies:
                try:
                    line = reply_line(reply, decrypt)
                except DecryptionError as error:
                    raise out.fail(f"cannot decrypt with --key: {error}") from None
                out.console.print("reply " + line, soft_wrap=True, highlight=False)
            for request in seen.changed_requests(listing):
                out.console.print(
                    f"request {request.get('replyId')} due {request.get('due')}: "
                    f"{request.get('state')}"
                    + (f" by {request['answeredBy']}" if request.get("answeredBy") else ""),
                    soft_wrap=True,
                    highlight=False,
                )
            state = str(current.get("status"))
            decided = any(r.get("kind") == "decision" for r in listing.get("replies") or [])
            if (until == "accepted" and state == "accepted") or (until == "decision" and decided):
                out.console.print(f"{until}: submission {submission_id} is {state}")
                return
            if state in _ENDED:
                raise out.fail(f"submission {submission_id} ended {state}")
            if time.monotonic() >= deadline:
                raise out.fail(f"no {until} after {timeout:g} s (status {state})", code=TIMED_OUT)
            time.sleep(interval)


@portal_app.command("replies")
def replies(  # noqa: PLR0917 - typer options
    submission_id: Annotated[str, typer.Argument(help="the submission id")],
    save: Annotated[
        Path | None, typer.Option(help="save each reply and its parts into this folder")
    ] = None,
    key: KeyOption = None,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """The authority's replies to the case and its requests for documents; with --save,
    every part too (its SHA-512 checked; decrypted with --key)."""
    decrypt = _decrypter(key)
    with _client(api, token, token_file) as client:
        try:
            listing = client.replies(submission_id)
            shown = [reply_line(reply, decrypt) for reply in listing.get("replies") or []]
            written = []
            if save is not None:
                for reply in listing.get("replies") or []:
                    written += save_reply(client, submission_id, reply, save, decrypt)
        except PortalApiError as error:
            raise _refused(error) from None
        except PartHashError as error:
            raise out.fail(f"refused a part: {error}") from None
        except DecryptionError as error:
            raise out.fail(f"cannot decrypt with --key: {error}") from None
    if as_json:
        out.print_json({**listing, "saved": [str(path) for path in written]})
        return
    out.console.print(
        f"case {listing.get('caseId')}: {len(listing.get('replies') or [])} reply(ies)",
        highlight=False,
    )
    for line in shown:
        out.console.print("  " + line, soft_wrap=True, highlight=False)
    for request in listing.get("requests") or []:
        answered = f" by {request['answeredBy']}" if request.get("answeredBy") else ""
        out.console.print(
            f"  request {request.get('replyId')} due {request.get('due')}: "
            f"{request.get('state')}{answered}",
            soft_wrap=True,
            highlight=False,
        )
    for path in written:
        out.console.print(f"  saved {path}", soft_wrap=True, highlight=False)


@portal_app.command("supplement")
def supplement(  # noqa: PLR0917 - typer options
    submission_id: Annotated[str, typer.Argument(help="the submission id")],
    files: Annotated[list[Path], typer.Argument(help="the documents to hand in")],
    answers: Annotated[
        str | None, typer.Option(help="the request (its reply id) these documents answer")
    ] = None,
    note: Annotated[str | None, typer.Option(help="a note for the authority")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="default: derived from the documents (a retry is safe)")
    ] = None,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hand in documents later (Nachreichung), answering a request or not."""
    request = supplement_request([_read(path) for path in files], answers=answers, note=note)
    with _client(api, token, token_file) as client:
        try:
            answer = client.supplement(submission_id, request, idempotency_key)
        except PortalApiError as error:
            raise _refused(error) from None
    if as_json:
        out.print_json(answer)
        return
    out.console.print(
        f"supplement {answer.get('supplementId')} to submission {submission_id}: "
        f"{answer.get('status')}",
        soft_wrap=True,
        highlight=False,
    )


@portal_app.command("confirmation")
def confirmation(  # noqa: PLR0917 - typer options
    submission_id: Annotated[str, typer.Argument(help="the submission id")],
    out_file: Annotated[Path, typer.Option("--out", help="write the proof (compact JWS) here")],
    supplement_id: Annotated[
        str | None, typer.Option("--supplement", help="the proof of this supplement instead")
    ] = None,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """Fetch the signed proof of receipt (Eingangsbestätigung) of a submission or a
    supplement; check it with ``verify-receipt``."""
    with _client(api, token, token_file) as client:
        try:
            token_text = client.confirmation(submission_id, supplement_id)
            claims = unverified_claims(token_text)
        except PortalApiError as error:
            raise _refused(error) from None
    try:
        out_file.write_text(token_text + "\n", encoding="ascii")
    except OSError as error:
        raise out.fail(f"cannot write {out_file} ({type(error).__name__})", code=2) from None
    what = f"supplement {supplement_id}" if supplement_id else f"submission {submission_id}"
    out.console.print(
        f"{what} (case {claims.get('caseId')}) received {claims.get('receivedAt')}: "
        f"proof written to {out_file}; check it with `amtsweg portal verify-receipt`",
        soft_wrap=True,
        highlight=False,
    )
