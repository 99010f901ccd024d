"""The intake topics' short retention: computed from the settings, merged into overrides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts import topics
from deploy.topics import TopicConfigError, overrides_to_write, topic_overrides
from services.ops.app.settings import RunSettings

HOUR_MS = 3_600_000


def test_by_default_the_intake_keeps_a_day_and_its_dead_letters_three_days() -> None:
    configs = RunSettings().topic_configs()

    assert configs == {
        topics.INTAKE: {
            "cleanup.policy": "delete",
            "retention.ms": str(24 * HOUR_MS),
            "segment.ms": str(HOUR_MS),
        },
        topics.INTAKE_DLQ: {
            "cleanup.policy": "delete",
            "retention.ms": str(72 * HOUR_MS),
            "segment.ms": str(HOUR_MS),
        },
    }


def test_retention_comes_from_the_environment_and_segments_never_outlive_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMTSWEG_INTAKE_RETENTION_SECONDS", "600")
    monkeypatch.setenv("AMTSWEG_INTAKE_DLQ_RETENTION_SECONDS", "7200")

    configs = RunSettings().topic_configs()

    assert configs[topics.INTAKE]["retention.ms"] == "600000"
    assert configs[topics.INTAKE]["segment.ms"] == "600000"  # a shorter retention: shorter segments
    assert configs[topics.INTAKE_DLQ]["retention.ms"] == "7200000"
    assert configs[topics.INTAKE_DLQ]["segment.ms"] == str(HOUR_MS)


@pytest.mark.parametrize("seconds", ["0", "-1"])
def test_a_retention_that_is_not_positive_is_refused(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    monkeypatch.setenv("AMTSWEG_INTAKE_RETENTION_SECONDS", seconds)
    with pytest.raises(ValidationError):
        RunSettings()


def test_overrides_to_write_keep_the_topics_other_overrides() -> None:
    current = {"max.message.bytes": "2097152", "retention.ms": "604800000"}
    wanted = {"retention.ms": "86400000", "segment.ms": "3600000"}

    assert overrides_to_write(current, wanted) == {
        "max.message.bytes": "2097152",
        "retention.ms": "86400000",
        "segment.ms": "3600000",
    }
    assert overrides_to_write({**current, **wanted}, wanted) is None  # nothing to change


def _entry(name: str, value: str | None, **marks: object) -> dict[str, object]:
    return {"config_names": name, "config_value": value, "read_only": False, **marks}


def test_only_the_topics_own_overrides_count_in_either_answer_version() -> None:
    version_0 = {
        "resource_name": "amtsweg.intake",
        "config_entries": [
            _entry("retention.ms", "604800000", is_default=False, is_sensitive=False),
            _entry("segment.ms", "604800000", is_default=True, is_sensitive=False),
        ],
    }
    later = {
        "resource_name": "amtsweg.intake",
        "config_entries": [
            _entry("retention.ms", "604800000", config_source=1, is_sensitive=False),
            _entry("segment.ms", "604800000", config_source=5, is_sensitive=False),  # default
            _entry("compression.type", "zstd", config_source=4, is_sensitive=False),  # broker
        ],
    }
    assert topic_overrides(version_0) == {"retention.ms": "604800000"}
    assert topic_overrides(later) == {"retention.ms": "604800000"}


def test_an_override_without_a_readable_value_is_not_silently_dropped() -> None:
    resource = {
        "resource_name": "amtsweg.intake",
        "config_entries": [_entry("some.secret", None, config_source=1, is_sensitive=True)],
    }
    with pytest.raises(TopicConfigError, match=r"some\.secret"):
        topic_overrides(resource)
