"""The envelope bound holds for the largest envelope the limits allow, with a real JWE."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache

import pytest
from joserfc.jwk import RSAKey

from events.dossier import DeclaredPart, Dossier
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy, build_envelope
from services.delivery.envelope_limits import envelope_bound
from services.delivery.settings import DeliverySettings
from services.intake.settings import IntakeSettings
from services.ops.app.settings import MessageLimitError, Settings
from tests.support.factories import routed_submission

MEDIA_TYPE = "application/" + "x" * (255 - len("application/"))
BASE_URL = "https://amtsweg.example.org/api"


@cache
def _sealer() -> JweSealer:
    key = RSAKey.generate_key(4096, parameters={"kid": "k" * 64, "use": "enc"})
    return JweSealer(key.as_dict(private=False))


def _metadata(size: int) -> dict[str, str]:
    """A metadata document of exactly ``size`` bytes as JSON, with non-ASCII text."""
    document = {"x": ""}
    filler = size - len(json.dumps(document, ensure_ascii=False).encode())
    document["x"] = "ä" * (filler // 2) + "a" * (filler % 2)
    assert len(json.dumps(document, ensure_ascii=False).encode()) == size
    return document


@pytest.mark.parametrize("inline_share", [1.0, 0.0], ids=["all-inline", "all-referenced"])
def test_the_largest_envelope_fits_its_bound(inline_share: float) -> None:
    intake, delivery = IntakeSettings(), DeliverySettings()
    parts = intake.max_attachments + 1
    each = max(1, int(delivery.inline_total_bytes * inline_share) // parts)
    blobs = {f"b{n}": bytes(each) for n in range(parts)}
    submission = routed_submission()
    sealed = [{"blob": f"b{n}", "sha512": "f" * 128, "size": each} for n in range(parts)]
    object.__setattr__(submission, "data", sealed[0])
    object.__setattr__(submission, "attachments", sealed[1:])
    declared = [DeclaredPart(str(uuid.uuid4()), MEDIA_TYPE) for _ in range(parts)]
    dossier = Dossier(_metadata(intake.max_metadata_bytes), None, declared[0], tuple(declared[1:]))
    inline = InlinePolicy(delivery.inline_limit_bytes, delivery.inline_total_bytes)
    if inline_share == 0.0:
        inline = InlinePolicy(0, 0)
    envelope = build_envelope(
        submission,
        dossier,
        str(uuid.uuid4()),
        blobs.__getitem__,
        inline=inline,
        now=datetime.now(UTC),
        sealer=_sealer(),
        base_url=BASE_URL,
    )
    published = envelope.model_dump_json(by_alias=True, exclude_none=True).encode()
    inlined = sum(1 for part in [envelope.data, *envelope.attachments] if part.content)
    assert inlined == (parts if inline_share else 0)
    bound = envelope_bound(
        metadata_bytes=intake.max_metadata_bytes,
        parts=parts,
        inline_total_bytes=delivery.inline_total_bytes,
        base_url=BASE_URL,
    )
    assert len(published) <= bound
    assert bound <= 1024 * 1024  # the defaults fit the broker's default message limit


def test_the_bound_grows_with_every_limit() -> None:
    def bound(metadata: int = 1000, parts: int = 2, inline: int = 1000, url: str = "") -> int:
        return envelope_bound(
            metadata_bytes=metadata, parts=parts, inline_total_bytes=inline, base_url=url
        )

    smallest = bound()
    assert bound(metadata=2000) > smallest
    assert bound(parts=4) > smallest
    assert bound(inline=2000) > smallest
    assert bound(url="https://a.example") > smallest


def test_limits_that_outgrow_the_message_limit_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Settings.from_environment().check_message_limits()  # the defaults fit
    monkeypatch.setenv("AMTSWEG_MAX_METADATA_BYTES", str(1024 * 1024))
    with pytest.raises(MessageLimitError, match="AMTSWEG_MAX_METADATA_BYTES"):
        Settings.from_environment().check_message_limits()
    monkeypatch.setenv("AMTSWEG_KAFKA_MAX_MESSAGE_BYTES", str(4 * 1024 * 1024))
    Settings.from_environment().check_message_limits()
