"""Replication of Amtsweg's topics: from the environment, and refused when it cannot work."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deploy.topics import TopicConfigError, check_insync_replicas
from services.ops.app.settings import RunSettings


def test_unset_the_cluster_decides_replicas_and_the_broker_its_min_insync() -> None:
    settings = RunSettings()

    assert settings.topic_replication_factor is None
    assert settings.topic_min_insync_replicas is None


def test_replication_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSWEG_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS", "2")

    settings = RunSettings()

    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2)


def test_more_insync_replicas_than_replicas_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMTSWEG_TOPIC_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS", "2")

    with pytest.raises(ValidationError, match="AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS=2 exceeds"):
        RunSettings()


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_replication_factor_below_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AMTSWEG_TOPIC_REPLICATION_FACTOR", value)

    with pytest.raises(ValidationError):
        RunSettings()


def test_creating_topics_with_fewer_replicas_than_min_insync_is_refused() -> None:
    check_insync_replicas(3, 2)
    check_insync_replicas(3, None)

    with pytest.raises(TopicConfigError, match="AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS"):
        check_insync_replicas(1, 2)
