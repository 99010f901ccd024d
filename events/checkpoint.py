"""Signed checkpoints: what the ledger held at a notification position, signed with Ed25519.

A checkpoint records, at the ledger's notification position ``P``, the chain head
(version and hash) of every submission that changed since the previous checkpoint's
position, the number of events up to ``P`` (the sum of all heads' versions), and the
digest of the previous checkpoint. It is *incremental*: the heads of all submissions
are the fold of every checkpoint in order (a later head replaces an earlier one), so a
checkpoint every few minutes stays small however many submissions the ledger holds,
and the chain of digests means no checkpoint can be left out or replaced unseen. The
signature (Ed25519, by a key only the checkpoint writer holds) means that whoever can
write the ledger's database, and even holds the chain key, cannot make a checkpoint
that says otherwise. ``amtsweg verify --checkpoint`` proves the ledger against the fold.

The file is canonical JSON: ``{"payload": {...}, "signature": base64url}``, the
signature over the payload's canonical bytes; the digest chained into the next
checkpoint is the SHA-256 (hex) of the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from events.chain import GENESIS, canonical

FORMAT = "amtsweg-checkpoint/1"


class CheckpointError(Exception):
    """A checkpoint cannot be read, is not signed by a known key, or does not fit its chain."""


@dataclass(frozen=True)
class Head:
    """A submission's newest event as of a checkpoint."""

    version: int
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    """The signed facts of one checkpoint (its payload)."""

    kid: str
    sequence: int
    created_at: str
    position: int
    """The ledger's notification position: every event up to it is covered."""
    events: int
    """How many events the ledger held up to ``position``."""
    previous: str
    """The previous checkpoint's digest (``GENESIS`` for the first)."""
    heads: Mapping[str, Head] = field(default_factory=dict)
    """Submission id → head, for the submissions that changed since the previous one."""

    def payload(self) -> dict[str, Any]:
        """The JSON object that is signed."""
        return {
            "format": FORMAT,
            "kid": self.kid,
            "sequence": self.sequence,
            "createdAt": self.created_at,
            "position": self.position,
            "events": self.events,
            "previous": self.previous,
            "heads": {
                sid: {"version": head.version, "hash": head.hash}
                for sid, head in sorted(self.heads.items())
            },
        }

    def body(self) -> bytes:
        """The canonical bytes that are signed and digested."""
        return canonical(self.payload())

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical payload: what the next checkpoint chains to."""
        return hashlib.sha256(self.body()).hexdigest()

    @classmethod
    def from_payload(cls, payload: object) -> Checkpoint:
        """The checkpoint of a payload object; ``CheckpointError`` if it is malformed."""
        try:
            assert isinstance(payload, dict)
            if payload["format"] != FORMAT:
                msg = f"format {payload['format']!r} is not {FORMAT!r}"
                raise CheckpointError(msg)
            heads = {
                str(sid): Head(_int(head["version"]), str(head["hash"]))
                for sid, head in payload["heads"].items()
            }
            return cls(
                kid=str(payload["kid"]),
                sequence=_int(payload["sequence"]),
                created_at=str(payload["createdAt"]),
                position=_int(payload["position"]),
                events=_int(payload["events"]),
                previous=str(payload["previous"]),
                heads=heads,
            )
        except (AssertionError, KeyError, TypeError, AttributeError) as error:
            msg = f"not a checkpoint payload ({type(error).__name__}: {error})"
            raise CheckpointError(msg) from None


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{value!r} is not a count")
    return value


Sign = Callable[[bytes], bytes]
Verify = Callable[[str, bytes, bytes], bool]
"""(kid, body, signature) → True if a known key with that kid made the signature."""


def signed_document(checkpoint: Checkpoint, sign: Sign) -> bytes:
    """The file's bytes: the payload and its signature, canonical JSON."""
    signature = base64.urlsafe_b64encode(sign(checkpoint.body())).rstrip(b"=").decode()
    return canonical({"payload": checkpoint.payload(), "signature": signature})


def read_document(document: bytes, verify: Verify) -> Checkpoint:
    """The checkpoint in a file's bytes, its signature checked; ``CheckpointError`` if not."""
    try:
        outer = json.loads(document)
        payload = outer["payload"]
        encoded = str(outer["signature"])
        signature = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        msg = f"not a signed checkpoint ({type(error).__name__})"
        raise CheckpointError(msg) from None
    checkpoint = Checkpoint.from_payload(payload)
    if canonical(payload) != checkpoint.body():
        raise CheckpointError("the payload holds fields a checkpoint does not have")
    if not verify(checkpoint.kid, checkpoint.body(), signature):
        msg = f"the signature does not verify under a known key (kid {checkpoint.kid!r})"
        raise CheckpointError(msg)
    return checkpoint


@dataclass(frozen=True)
class ChainFinding:
    """Something wrong with the checkpoints themselves."""

    kind: str
    """``checkpoint-forged``, ``checkpoint-missing`` or ``checkpoint-inconsistent``."""
    subject: str
    """The checkpoint's file name."""
    problem: str


@dataclass
class Fold:
    """Every checkpoint folded: the heads as of the latest, and what did not hold."""

    heads: dict[str, Head] = field(default_factory=dict)
    latest: Checkpoint | None = None
    findings: list[ChainFinding] = field(default_factory=list)
    verified: int = 0
    """How many checkpoint files verified."""


def fold(files: Iterable[tuple[str, bytes]], verify: Verify) -> Fold:
    """Verify every checkpoint file (name, bytes; in sequence order) and fold their heads.

    A file that does not verify is a finding and is left out; one that does not follow
    its predecessor (sequence, previous digest, position) is a finding and folded still,
    so that what the later checkpoints cover stays covered.
    """
    result = Fold()
    for name, document in files:
        try:
            checkpoint = read_document(document, verify)
        except CheckpointError as error:
            result.findings.append(ChainFinding("checkpoint-forged", name, str(error)))
            continue
        result.findings.extend(_follows(name, result.latest, checkpoint))
        result.findings.extend(_grows(name, result.heads, checkpoint))
        result.heads.update(checkpoint.heads)
        result.latest = checkpoint
        result.verified += 1
    complete = not any(f.kind != "checkpoint-inconsistent" for f in result.findings)
    latest = result.latest
    if complete and latest is not None:
        total = sum(head.version for head in result.heads.values())
        if total != latest.events:
            problem = f"records {latest.events} events, its heads add up to {total}"
            result.findings.append(ChainFinding("checkpoint-inconsistent", _name(latest), problem))
    return result


def _name(checkpoint: Checkpoint) -> str:
    return file_name(checkpoint.sequence)


def file_name(sequence: int) -> str:
    """The file name of the checkpoint with this sequence number."""
    return f"checkpoint-{sequence:012d}.json"


def _follows(
    name: str, before: Checkpoint | None, checkpoint: Checkpoint
) -> Sequence[ChainFinding]:
    expected = (before.sequence + 1) if before else 1
    previous = before.digest() if before else GENESIS
    if checkpoint.sequence != expected or checkpoint.previous != previous:
        after = f"checkpoint {before.sequence}" if before else "the start"
        problem = (
            f"checkpoint {checkpoint.sequence} does not follow {after}: "
            "a checkpoint before it is missing or was replaced"
        )
        return [ChainFinding("checkpoint-missing", name, problem)]
    if before is not None and checkpoint.position < before.position:
        problem = f"position {checkpoint.position} is before the previous {before.position}"
        return [ChainFinding("checkpoint-inconsistent", name, problem)]
    return []


def _grows(name: str, heads: Mapping[str, Head], checkpoint: Checkpoint) -> Sequence[ChainFinding]:
    shrunk = [
        sid
        for sid, head in checkpoint.heads.items()
        if sid in heads and head.version <= heads[sid].version
    ]
    if not shrunk:
        return []
    problem = f"{len(shrunk)} head(s) not newer than before, e.g. {shrunk[0]}"
    return [ChainFinding("checkpoint-inconsistent", name, problem)]
