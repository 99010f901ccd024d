"""The portal's envelope of a reply: plain, or its content only as JWE to the portal's key."""

from __future__ import annotations

import hashlib
import json

import pytest

from contracts.replies import ReplyContent, ReplyMessage
from events.dossier import DeclaredPart, Dossier
from receiver.keys import Decrypter
from services.delivery.reply_envelope import (
    SealedDocument,
    build_reply_envelope,
    portal_sealer,
    reply_channel_name,
)
from tests.support.authority import KOELN, encryption_key, public
from tests.support.factories import dispatched_submission
from tests.support.replies import BESCHEID, NOW, reply

DOCUMENT = SealedDocument("bescheid", "application/pdf", hashlib.sha512(BESCHEID).hexdigest(), 9)


def _dossier(metadata: dict[str, object]) -> Dossier:
    return Dossier(metadata, None, DeclaredPart("data", "application/xml"), ())


def test_a_plain_envelope_carries_the_content_and_references_every_part() -> None:
    submission = dispatched_submission(KOELN, "d-1")
    message = ReplyMessage.model_validate(reply(submission))
    envelope = build_reply_envelope(
        submission,
        message,
        [DOCUMENT],
        now=NOW,
        signed=True,
        reply_channel="eMail",
        sealer=None,
        base_url="https://amtsweg.example.org/",
    )
    path = f"https://amtsweg.example.org/v1/submissions/{submission.id}/replies/r-1"
    assert envelope.links.self_ == path
    assert envelope.case_id == submission.case_id
    assert envelope.replied_at == NOW.isoformat()
    assert envelope.content is not None
    assert envelope.content.subject == message.subject
    assert envelope.content.filenames == {"bescheid": "Bescheid.pdf"}
    [reference] = envelope.parts
    assert reference.reference == f"{path}/parts/bescheid"
    assert reference.content is None  # parts always by reference
    assert (reference.sha512, reference.size, reference.filename) == (
        DOCUMENT.sha512,
        9,
        "Bescheid.pdf",
    )
    assert envelope.signed
    assert envelope.reply_channel == "eMail"


@pytest.mark.parametrize("with_kid", [True, False])
def test_for_a_portal_with_a_key_the_content_travels_only_encrypted(with_kid: bool) -> None:
    submission = dispatched_submission(KOELN, "d-1")
    message = ReplyMessage.model_validate(reply(submission))
    key = public(encryption_key())
    if not with_kid:
        key = {k: v for k, v in key.items() if k != "kid"}
    sealer = portal_sealer(key)
    envelope = build_reply_envelope(
        submission, message, [DOCUMENT], now=NOW, signed=False, reply_channel=None, sealer=sealer
    )
    published = envelope.model_dump_json(by_alias=True, exclude_none=True)
    assert message.subject not in published
    assert "Bescheid.pdf" not in published
    assert envelope.encryption is not None
    assert envelope.encryption.kid == sealer.kid
    assert envelope.content is None
    assert envelope.encrypted_content is not None
    opened = Decrypter({**encryption_key(), "kid": sealer.kid}).decrypt(envelope.encrypted_content)
    content = ReplyContent.model_validate_json(opened)
    assert content.subject == message.subject
    assert content.filenames == {"bescheid": "Bescheid.pdf"}
    assert json.loads(published)["parts"][0]["reference"].endswith("/replies/r-1/parts/bescheid")


@pytest.mark.parametrize(
    ("metadata", "name"),
    [
        ({"replyChannel": {"eMail": {"address": "erika@example.org"}}}, "eMail"),
        ({"replyChannel": {"fink": {"finkPostfachRef": "hh/by/12345"}}}, "fink"),
        ({}, None),
        ({"replyChannel": {}}, None),
        ({"replyChannel": "eMail"}, None),
    ],
)
def test_the_reply_channel_is_named_never_addressed(
    metadata: dict[str, object], name: str | None
) -> None:
    assert reply_channel_name(_dossier(metadata)) == name
