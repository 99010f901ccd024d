"""``amtsweg portal …``: what a portal (or its applicant) does with Amtsweg's answers.

``verify-receipt`` checks a proof of receipt offline. Exit codes: 0 verified; 1 refused
(signature, claims or checkpoint inclusion do not hold); 2 cannot check (a file or the
keys cannot be read); 3 the signature holds but no checkpoint given names the
submission yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from contracts.confirmation import ConfirmationError, verify_confirmation
from contracts.envelope_signature import EnvelopeSignatureError, keys_by_id
from events.checkpoint import CheckpointError, Head, fold, read_document
from events.checkpoint_keys import CheckpointKeyError, PublicKeys
from events.checkpoint_store import CheckpointDirectory
from services.ops.actions.receipt_proof import TrailFormatError, included, trail_links
from services.ops.cli import support as out

portal_app = typer.Typer(help="What portals do with Amtsweg's answers.", no_args_is_help=True)

NOT_COVERED = 3


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
