"""``amtsweg keys list-destination-keys | rotate-destination-key | retire-destination-key``.

A FIT-Connect destination's encryption keys (see :mod:`services.fitconnect.key_rotation`):
rotating publishes a new key while the older ones still decrypt; retiring an older key is
refused while a submission in flight may be encrypted to it (``--force`` overrides, naming
those submissions). ``--destination`` takes a destination id or an authority id.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from services.fitconnect.destination_keys import DestinationKeyError
from services.fitconnect.destinations import destination_id
from services.fitconnect.key_rotation import KeyRotation, KeyState, RetirementRefusedError
from services.ops.app.bootstrap import Wiring
from services.ops.app.fitconnect_wiring import destination_directory, key_rotation
from services.ops.cli import support as out
from services.routing.directory_file import load_directory

DestinationOption = Annotated[
    str,
    typer.Option(
        "--destination", help="the destination id (UUID) or the authority id of the directory"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def list_destination_keys(destination: DestinationOption, as_json: JsonOption = False) -> None:
    """A destination's encryption keys: the published one first, then the older ones that
    still decrypt (or were retired), each with the open submissions that may use it."""
    wiring = out.wiring()
    try:
        target = _destination(wiring, destination)
        states = _rotation(wiring).states(target)
    finally:
        wiring.close()
    answer = {"destinationId": str(target), "keys": [_state(state) for state in states]}
    if as_json:
        out.print_json(answer)
        return
    if not states:
        out.console.print(f"destination {target}: no key yet (made on first request)")
    for state in states:
        key = state.key
        status = "published" if key.published else "retired" if key.retired_at else "decrypts"
        out.console.print(
            f"{key.kid}  generation {key.generation}  {status}  created {key.created_at}"
            f"  in flight: {len(state.in_flight)}  thumbprint {key.thumbprint}"
        )


def rotate_destination_key(destination: DestinationOption, as_json: JsonOption = False) -> None:
    """Make a new key and publish it (``encryptionKid``); the older keys still decrypt
    what senders encrypted to them. Other processes publish it within a minute."""
    wiring = out.wiring()
    try:
        target = _destination(wiring, destination)
        made = _rotation(wiring).rotate(target)
    finally:
        wiring.close()
    if as_json:
        out.print_json(
            {"destinationId": str(target), "kid": made.kid, "generation": made.generation}
        )
        return
    out.console.print(
        f"destination {target}: {made.kid} (generation {made.generation}) is published now"
    )


def retire_destination_key(
    destination: DestinationOption,
    kid: Annotated[str, typer.Option("--kid", help="the key's kid or RFC 7638 thumbprint")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="retire even while submissions in flight may need it (they fail)"
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Retire an older key: it decrypts nothing more and is no longer served. Refused for
    the published key, and while a submission announced when it was published is not
    submitted yet (unless --force)."""
    wiring = out.wiring()
    try:
        target = _destination(wiring, destination)
        retirement = _rotation(wiring).retire(target, kid, force=force)
    except DestinationKeyError as error:
        raise out.fail(str(error)) from None
    except RetirementRefusedError as refused:
        shown = ", ".join(refused.in_flight[:10]) + (" …" if len(refused.in_flight) > 10 else "")
        detail = f" (in flight: {shown})" if refused.in_flight else ""
        raise out.fail(f"not retired: {refused}{detail}; --force retires anyway") from None
    finally:
        wiring.close()
    for warning in retirement.warnings:
        out.warn(f"retired anyway: {warning}")
    if as_json:
        out.print_json(
            {
                "destinationId": str(target),
                "kid": retirement.kid,
                "retired": retirement.retired,
                "warnings": list(retirement.warnings),
                "inFlight": list(retirement.in_flight),
            }
        )
        return
    done = "retired" if retirement.retired else "was retired before"
    out.console.print(f"destination {target}: {retirement.kid} {done}")


def _rotation(wiring: Wiring) -> KeyRotation:
    return key_rotation(wiring.settings, lambda: wiring.vault.keys.kek)


def _destination(wiring: Wiring, given: str) -> uuid.UUID:
    """The destination a destination id or an authority id names; fails if it is none."""
    directory = destination_directory(
        lambda: load_directory(wiring.settings.routing.directory), wiring.catalog
    )
    try:
        candidates = [uuid.UUID(given)]
    except ValueError:
        candidates = []
    candidates.append(destination_id(given))
    for candidate in candidates:
        found = directory(candidate)
        if found is not None and found.services:
            return candidate
    raise out.fail(f"no destination {given!r} (neither a destination id nor an authority's)")


def _state(state: KeyState) -> dict[str, Any]:
    key = state.key
    return {
        "kid": key.kid,
        "thumbprint": key.thumbprint,
        "generation": key.generation,
        "createdAt": key.created_at,
        "published": key.published,
        "supersededAt": key.superseded_at,
        "retiredAt": key.retired_at,
        "inFlight": list(state.in_flight),
    }
