"""The submissions of `amtsweg chaos` are distinct and end as they are meant to."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime

from harness.bench import documents as docs
from harness.chaos.load import ChaosPayloads, http_body, kafka_value
from services.validation.catalog import load_catalog
from services.validation.decide import Declared, Invalid, Valid, decide
from services.validation.settings import ValidationSettings
from tests.support.validation import IDENTIFIED

KOELN = "053150000000"
NOWHERE = "059990000000"


def test_kinds_follow_the_shares_and_the_seed() -> None:
    payloads = ChaosPayloads(2_000, seed=3, invalid_share=0.1, unroutable_share=0.2)

    kinds = Counter(payloads.build(f"k-{n}").kind for n in range(1_000))

    assert 70 <= kinds["invalid"] <= 130
    assert 160 <= kinds["unroutable"] <= 240
    assert kinds["valid"] == 1_000 - kinds["invalid"] - kinds["unroutable"]
    again = ChaosPayloads(2_000, seed=3, invalid_share=0.1, unroutable_share=0.2)
    assert [again.build(f"k-{n}").kind for n in range(50)] == [
        payloads.build(f"k-{n}").kind for n in range(50)
    ]


def test_an_invalid_submission_declares_its_own_hash_and_fails_the_schema() -> None:
    payloads = ChaosPayloads(2_000, seed=1, invalid_share=1.0, unroutable_share=0.0)
    settings = ValidationSettings()
    catalog = load_catalog(settings.catalog, settings.regions)
    declared = Declared(
        docs.BUERGERGELD, docs.XDOMEA_URI, "application/xml", datetime.now(UTC), IDENTIFIED
    )

    invalid = payloads.build("one")
    valid = ChaosPayloads(2_000, seed=1, invalid_share=0.0, unroutable_share=0.0).build("one")

    metadata = json.loads(invalid.metadata)
    declared_hash = metadata["contentStructure"]["data"]["hash"]["content"]
    assert declared_hash == hashlib.sha512(invalid.data).hexdigest()
    assert isinstance(decide(catalog, declared, invalid.data, settings.limits()), Invalid)
    assert isinstance(decide(catalog, declared, valid.data, settings.limits()), Valid)
    assert invalid.data != payloads.build("two").data  # distinct, as real ones are


def test_an_unroutable_submission_names_a_region_that_does_not_exist_on_both_channels() -> None:
    unroutable = ChaosPayloads(2_000, seed=1, invalid_share=0.0, unroutable_share=1.0).build("u")
    valid = ChaosPayloads(2_000, seed=1, invalid_share=0.0, unroutable_share=0.0).build("v")

    assert unroutable.kind == "unroutable"
    assert json.loads(kafka_value(unroutable))["routing"] == {"ars": NOWHERE}
    assert json.loads(kafka_value(valid))["routing"] == {"ars": KOELN}
    assert b"".join(http_body(unroutable)[1]).count(NOWHERE.encode()) == 1
    assert KOELN.encode() not in b"".join(http_body(unroutable)[1])
    assert b"".join(http_body(valid)[1]).count(KOELN.encode()) == 1
