"""Data protection commands: ``erase`` (a deletion request), ``retention``, ``keys``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol
from uuid import UUID

import typer

from events.checkpoint_keys import CheckpointKeyError, create_key
from events.ledger import SubmissionNotFoundError
from events.vault import LocalKeyFile
from services.delivery.signing import SigningKeyError, create_key_file, rotate_key_file
from services.fitconnect import set_keys, token_keys
from services.ops.actions.erasure import erase as erase_content
from services.ops.cli import support as out

retention_app = typer.Typer(help="Erase content whose retention period has passed.")
keys_app = typer.Typer(
    help="Amtsweg's keys: the key-encryption key, envelope signing keys, the checkpoint key."
)


def erase(
    submission_id: Annotated[UUID, typer.Argument(help="the submission whose content goes")],
    reason: Annotated[str, typer.Option(help="why (recorded), e.g. the request's file number")],
    legal_basis: Annotated[
        str, typer.Option(help='the provision, e.g. "Art. 17 Abs. 1 DSGVO" (recorded)')
    ],
    by: Annotated[
        str | None, typer.Option(help="who does it (default: $AMTSWEG_OPERATOR or your login)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Erase a submission's content: destroy its data key, delete its blobs, record it.

    The trail stays and still verifies; status and trail answer without content. Run it
    again after an interruption and it completes.
    """
    if not reason.strip() or not legal_basis.strip():
        raise typer.BadParameter("--reason and --legal-basis are recorded: give both")
    wiring = out.wiring()
    out.require_in_scope(wiring, submission_id, by)
    try:
        erased = erase_content(
            wiring.ledger,
            wiring.vault,
            submission_id,
            by=by or out.default_actor(),
            legal_basis=legal_basis,
            reason=reason,
        )
    except SubmissionNotFoundError:
        raise out.fail(f"no submission {submission_id}") from None
    finally:
        wiring.close()
    answer = {
        "submissionId": str(submission_id),
        "recorded": erased.recorded,
        "keyDestroyed": erased.key_destroyed,
        "blobsDeleted": erased.blobs_deleted,
    }
    if as_json:
        out.print_json(answer)
    elif erased.recorded:
        out.console.print(
            f"erased the content of {submission_id}: data key destroyed, "
            f"{erased.blobs_deleted} sealed blob(s) deleted, ContentErased recorded"
        )
    else:
        out.console.print(f"the content of {submission_id} was erased before")


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only list what is due")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Apply the catalog's retention rules once (the `retention` service does it hourly)."""
    wiring = out.wiring()
    try:
        job = wiring.retention_job()
        if dry_run:
            due = [
                {"submissionId": d.submission_id, "rule": d.rule, "legalBasis": d.legal_basis}
                for d in job.candidates(datetime.now(UTC).timestamp())
            ]
            answer: dict[str, object] = {"due": due}
        else:
            erased = job.run_once()
            answer = {"erased": [str(e.submission_id) for e in erased if e.recorded]}
            answer["orphansSwept"] = job.sweep_orphans()
    finally:
        wiring.close()
    if as_json:
        out.print_json(answer)
        return
    for key, value in answer.items():
        count = len(value) if isinstance(value, list) else value
        out.console.print(f"{key}: {count}")


@retention_app.command("rules")
def retention_rules(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The retention rule of every catalog service (and those without one)."""
    catalog = out.wiring().catalog()
    rules: dict[str, dict[str, Any] | None] = {
        key: (
            {"legalBasis": s.retention.legal_basis, "days": dict(s.retention.days)}
            if s.retention
            else None
        )
        for key, s in sorted(catalog.services.items())
    }
    if as_json:
        out.print_json(rules)
        return
    for key, rule in rules.items():
        days = ", ".join(f"{k} {v}d" for k, v in rule["days"].items()) if rule else "none"
        basis = f" ({rule['legalBasis']})" if rule else ": only by `amtsweg erase`"
        out.console.print(f"{key}: {days}{basis}")


@keys_app.command("create-kek")
def create_kek(
    path: Annotated[Path, typer.Argument(help="where to write it (must not exist)")],
) -> None:
    """Create a key-encryption key file (mode 0600) for AMTSWEG_KEK_FILE.

    Keep it apart from the ledger, the key store and the blobs, and back it up: without
    it no stored content can be read.
    """
    try:
        kek = LocalKeyFile.create(path)
    except FileExistsError:
        raise out.fail(f"{path} exists; a key-encryption key is never overwritten") from None
    out.console.print(f"created {path} (kid {kek.key_id}); set AMTSWEG_KEK_FILE={path}")


@keys_app.command("create-signing-key")
def create_signing_key(
    path: Annotated[Path, typer.Argument(help="where to write the JWK Set (must not exist)")],
) -> None:
    """Create Amtsweg's envelope signing key set (mode 0600) for
    AMTSWEG_DELIVERY_SIGNING_KEYS_FILE: one P-256 key that signs every delivery envelope.
    Its public half is published at GET /v1/keys."""
    _create_key_set(
        create_key_file, path, "a signing key set", "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE"
    )


@keys_app.command("create-token-key")
def create_token_key(
    path: Annotated[Path, typer.Argument(help="where to write the JWK Set (must not exist)")],
) -> None:
    """Create the key set (mode 0600) that signs FIT-Connect access tokens, for
    AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE: one P-256 key. It is never published."""
    _create_key_set(
        token_keys.create_key_file, path, "a token key set", "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE"
    )


@keys_app.command("rotate-token-key")
def rotate_token_key(
    path: Annotated[Path, typer.Argument(help="the JWK Set of AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE")],
) -> None:
    """Put a new token signing key first; the older keys still verify the tokens they
    signed. Restart the HTTP API; drop an old key after one token lifetime."""
    try:
        keys = token_keys.rotate_key_file(path)
    except token_keys.TokenKeyError as error:
        raise out.fail(str(error)) from None
    out.console.print(f"{path}: {keys.kid} signs tokens now")


@keys_app.command("create-set-key")
def create_set_key(
    path: Annotated[Path, typer.Argument(help="where to write the JWK Set (must not exist)")],
) -> None:
    """Create the key set (mode 0600) that signs the FIT-Connect event log's Security Event
    Tokens, for AMTSWEG_FITCONNECT_SET_KEYS_FILE: one RSA key of 4096 bits (PS512). Its
    public half is published at /fit-connect/.well-known/jwks.json."""
    _create_key_set(
        set_keys.create_key_file, path, "an event token key set", "AMTSWEG_FITCONNECT_SET_KEYS_FILE"
    )


@keys_app.command("rotate-set-key")
def rotate_set_key(
    path: Annotated[Path, typer.Argument(help="the JWK Set of AMTSWEG_FITCONNECT_SET_KEYS_FILE")],
) -> None:
    """Put a new event token signing key first; the older keys stay published so the
    event tokens they signed (which never expire) still verify. Restart the HTTP API."""
    try:
        keys = set_keys.rotate_key_file(path)
    except set_keys.SetKeyError as error:
        raise out.fail(str(error)) from None
    out.console.print(f"{path}: {keys.kid} signs event tokens now")


@keys_app.command("rotate-signing-key")
def rotate_signing_key(
    path: Annotated[Path, typer.Argument(help="the JWK Set of AMTSWEG_DELIVERY_SIGNING_KEYS_FILE")],
) -> None:
    """Put a new envelope signing key first; the older keys stay published (GET /v1/keys)
    so receivers still verify envelopes they signed. Restart the relay and the HTTP API;
    drop an old key once no envelope it signed waits for a receipt."""
    try:
        signer = rotate_key_file(path)
    except SigningKeyError as error:
        raise out.fail(str(error)) from None
    kids = [jwk["kid"] for jwk in signer.jwks()["keys"]]
    out.console.print(f"{path}: {signer.kid} signs now; published: {', '.join(kids)}")


@keys_app.command("create-checkpoint-key")
def create_checkpoint_key(
    path: Annotated[Path, typer.Argument(help="where to write the private JWK (must not exist)")],
    public_keys: Annotated[
        Path,
        typer.Option(
            "--public-keys",
            help="the JWK Set verifiers read: created, or the new key added to it",
        ),
    ],
) -> None:
    """Create the checkpoint writer's Ed25519 signing key (mode 0600) for
    AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE, and add its public half to the JWK Set of
    AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE. Run it again with a new file to rotate: older
    keys stay in the set, so older checkpoints still verify."""
    try:
        signer = create_key(path, public_keys)
    except FileExistsError:
        raise out.fail(f"{path} exists; a checkpoint key is never overwritten") from None
    except CheckpointKeyError as error:
        raise out.fail(str(error)) from None
    out.console.print(
        f"created {path} (kid {signer.kid}), public key added to {public_keys}; set "
        f"AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE={path} (the writer only) and "
        f"AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE={public_keys}"
    )


class _KeySet(Protocol):
    @property
    def kid(self) -> str:
        """The key id of the key that signs."""


def _create_key_set(
    create: Callable[[Path], _KeySet], path: Path, what: str, variable: str
) -> None:
    """Create a key set file with ``create``; never over an existing one."""
    try:
        keys = create(path)
    except FileExistsError:
        raise out.fail(f"{path} exists; {what} is never overwritten") from None
    out.console.print(f"created {path} (kid {keys.kid}); set {variable}={path}")
