"""The reference receiver's unpacking and folder writing, on envelopes built by delivery."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.messages import DeliveryEnvelope, PayloadPart
from receiver.folder import write_application
from receiver.inbox import INBOX_FILE, Inbox
from receiver.keys import Decrypter
from receiver.unpack import Fetch, HashMismatchError, ReceiverError, unpack
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, build_envelope
from tests.support.authority import encryption_key, public
from tests.unit.test_delivery_envelope import DATA, LARGE, NOW, SMALL, _routed


def _envelope(sealed: bool) -> DeliveryEnvelope:
    """An envelope as delivery builds it (encrypted), or a plain one as published before."""
    submission, dossier, blobs = _routed()
    envelope = build_envelope(
        submission,
        dossier,
        "3f1c9a52-7a0e-4c55-9a43-1b2f3e4d5a61",
        blobs.__getitem__,
        inline=InlinePolicy(part_limit=1000, total_limit=10_000),
        now=NOW,
        sealer=JweSealer(public(encryption_key())),
    )
    return envelope if sealed else _plain(envelope)


def _plain(envelope: DeliveryEnvelope) -> DeliveryEnvelope:
    """The same delivery as a plain version 2 envelope (delivery no longer builds these, but
    those published before encryption was required may still wait on a topic)."""
    opened = Decrypter(encryption_key())
    assert envelope.encrypted_metadata is not None
    metadata = json.loads(opened.decrypt(envelope.encrypted_metadata))
    names = {a["attachmentId"]: a["filename"] for a in metadata["contentStructure"]["attachments"]}

    def plain(part: PayloadPart) -> PayloadPart:
        content = None
        if part.content is not None:
            content = base64.b64encode(opened.decrypt(part.content)).decode()
        return part.model_copy(update={"content": content, "filename": names.get(part.part_id)})

    return envelope.model_copy(
        update={
            "encryption": None,
            "encrypted_metadata": None,
            "metadata": metadata,
            "data": plain(envelope.data),
            "attachments": [plain(a) for a in envelope.attachments],
        }
    )


def _server(sealed: bool, fetched: list[str]) -> Fetch:
    async def fetch(reference: str) -> bytes:
        fetched.append(reference)
        content = LARGE
        return JweSealer(public(encryption_key())).seal(content).encode() if sealed else content

    return fetch


@pytest.mark.parametrize("sealed", [True, False], ids=["encrypted", "plain"])
async def test_unpacks_checks_and_writes_the_application(tmp_path: Path, sealed: bool) -> None:
    envelope = _envelope(sealed)
    fetched: list[str] = []
    application = await unpack(
        envelope, Decrypter(encryption_key()) if sealed else None, _server(sealed, fetched)
    )
    assert [p.content for p in application.parts] == [DATA, SMALL, LARGE]
    assert fetched == [f"/v1/deliveries/{envelope.delivery_id}/parts/{'b' * 36}"]
    assert application.parts[1].filename == "Miete.pdf"  # from the (decrypted) metadata
    folder = write_application(tmp_path, application)
    assert folder == tmp_path / envelope.delivery_id
    assert (folder / "data.xml").read_bytes() == DATA
    assert (folder / "attachments" / f"{'b' * 36}.pdf").read_bytes() == LARGE
    summary = json.loads((folder / "delivery.json").read_text())
    assert summary["submissionId"] == envelope.submission_id
    assert [p["filename"] for p in summary["parts"]] == [None, "Miete.pdf", "Konto.pdf"]
    assert json.loads((folder / "metadata.json").read_text())["publicServiceType"]
    assert write_application(tmp_path, application) == folder  # again: left as it is


async def test_a_part_that_does_not_match_its_hash_is_found() -> None:
    envelope = _envelope(sealed=True)

    async def tampered(_reference: str) -> bytes:
        return JweSealer(public(encryption_key())).seal(LARGE + b"!").encode()

    with pytest.raises(HashMismatchError, match="bytes, expected"):
        await unpack(envelope, Decrypter(encryption_key()), tampered)


async def test_a_wrong_or_missing_key_stops_loudly() -> None:
    envelope = _envelope(sealed=True)
    fetch = _server(True, [])
    with pytest.raises(ReceiverError, match="cannot decrypt"):
        await unpack(envelope, Decrypter(encryption_key("someone-else")), fetch)
    with pytest.raises(ReceiverError, match="give --key"):
        await unpack(envelope, None, fetch)


@pytest.mark.parametrize("sealed", [True, False], ids=["encrypted", "plain"])
async def test_sender_chosen_names_never_become_paths(tmp_path: Path, sealed: bool) -> None:
    envelope = _envelope(sealed)
    hostile = envelope.model_copy(
        update={
            "attachments": [
                envelope.attachments[0].model_copy(update={"part_id": "../../etc/passwd"})
            ]
        }
    )
    decrypter = Decrypter(encryption_key()) if sealed else None
    application = await unpack(hostile, decrypter, _server(sealed, []))
    folder = write_application(tmp_path, application)
    assert sorted(p.name for p in (folder / "attachments").iterdir()) == ["part-1.pdf"]
    assert not (tmp_path.parent / "etc").exists()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read everything: the receiver must not rely on it."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.usefixtures("open_umask")
async def test_applications_and_the_inbox_are_readable_only_by_the_user(tmp_path: Path) -> None:
    out = tmp_path / "new" / "fachverfahren"
    application = await unpack(
        _envelope(sealed=True), Decrypter(encryption_key()), _server(True, [])
    )
    inbox = Inbox(out)
    inbox.record("d-1", "s-1", "accepted", b"{}")  # the journal appears and goes
    folder = write_application(out, application)
    inbox.close()
    modes = {
        path.relative_to(tmp_path).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [tmp_path / "new", *sorted((tmp_path / "new").rglob("*"))]
    }
    assert {name for name in modes if name.endswith(".pdf")} == {
        f"new/fachverfahren/{folder.name}/attachments/{'a' * 36}.pdf",
        f"new/fachverfahren/{folder.name}/attachments/{'b' * 36}.pdf",
    }
    assert f"new/fachverfahren/{INBOX_FILE}" in modes
    for name, mode in modes.items():
        expected = 0o700 if (tmp_path / name).is_dir() else 0o600
        assert mode == expected, f"{name}: {mode:o}"
