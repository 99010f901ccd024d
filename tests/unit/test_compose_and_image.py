"""The compose platform and the image's build file, read as files.

Neither needs a container engine: the compose file is parsed (three KRaft brokers,
every service of ``SERVICES`` in its own container, nobody as root, no secret in it),
the Containerfile's final stage is read for its user, health check and what it
installs, and its scripts (the product's share of the lock, the health check) are run.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.net import free_tcp_port
from services.ops.app.bootstrap import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
CONTAINERFILE = ROOT / "deploy" / "container" / "Containerfile"
RUNTIME_LOCK = ROOT / "deploy" / "container" / "runtime_lock.py"
HEALTHCHECK = ROOT / "deploy" / "container" / "healthcheck.py"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "python3-dev", "libpq-dev")
SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def amtsweg_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Compose services that run ``amtsweg service <name>``, by that name."""
    return {
        spec["command"][1]: spec
        for spec in compose["services"].values()
        if spec.get("command", [""])[0] == "service"
    }


def test_three_kraft_brokers_form_one_cluster(compose: dict[str, Any]) -> None:
    brokers = {
        name: spec["environment"]
        for name, spec in compose["services"].items()
        if spec["image"].startswith("apache/kafka:")
    }
    assert len(brokers) == 3
    assert {env["KAFKA_PROCESS_ROLES"] for env in brokers.values()} == {"broker,controller"}
    assert len({env["KAFKA_NODE_ID"] for env in brokers.values()}) == 3
    assert len({env["CLUSTER_ID"] for env in brokers.values()}) == 1
    (voters,) = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in brokers.values()}
    assert sorted(voter.split("@")[1].split(":")[0] for voter in voters.split(",")) == sorted(
        brokers
    )
    for env in brokers.values():
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"


def test_the_kafka_image_is_the_version_of_the_jars(compose: dict[str, Any]) -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    version = pom.split("<kafka.version>")[1].split("</kafka.version>")[0].strip()
    images = {spec["image"] for spec in compose["services"].values()}
    assert f"apache/kafka:{version}" in images


def test_every_service_runs_in_its_own_container_on_the_cluster(compose: dict[str, Any]) -> None:
    services = amtsweg_services(compose)
    assert sorted(services) == sorted(SERVICES)
    for name, spec in services.items():
        assert spec["build"]["dockerfile"] == "deploy/container/Containerfile", name
        env = spec["environment"]
        assert len(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == 3, name
        assert env["AMTSWEG_TOPIC_REPLICATION_FACTOR"] == "3", name
        assert env["AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS"] == "2", name
        assert "postgres" in spec["depends_on"], name


def test_postgresql_prometheus_and_grafana_with_the_dashboard(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert any("../prometheus/alerts.yml" in mount for mount in services["prometheus"]["volumes"])
    grafana = services["grafana"]["volumes"]
    assert any(mount.startswith("../grafana/amtsweg.json:") for mount in grafana)
    assert any("provisioning" in mount for mount in grafana)


def test_no_container_runs_as_root(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        user = str(spec.get("user", "0"))
        assert user.split(":", maxsplit=1)[0] not in {"0", "root", ""}, name


def test_no_secret_is_in_the_compose_file(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        for variable, value in spec.get("environment", {}).items():
            if any(word in variable for word in SECRET_WORDS):
                assert variable.endswith(("_FILE", "__FILE")), (name, variable)
                assert str(value).startswith("/run/secrets/"), (name, variable)
        if spec.get("command", [""])[0] == "service":
            assert spec["env_file"] == ["secrets/amtsweg.env"], name
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("secrets/"), secret
    ignored = (ROOT / "deploy" / "compose" / ".gitignore").read_text(encoding="utf-8")
    assert "secrets/" in ignored.split()


def final_stage(containerfile: str) -> list[str]:
    """The instructions after the last ``FROM`` (continuation lines joined)."""
    joined = containerfile.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.startswith("FROM "))
    return instructions[last_from:]


def test_the_image_runs_amtsweg_as_a_fixed_non_root_user_with_a_health_check() -> None:
    stage = final_stage(CONTAINERFILE.read_text(encoding="utf-8"))
    users = [line.split()[1] for line in stage if line.startswith("USER ")]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":", maxsplit=1)[0]
    assert uid.isdigit()
    assert uid != "0"
    assert any(line.startswith("HEALTHCHECK ") and "CMD" in line for line in stage)
    assert 'ENTRYPOINT ["amtsweg"]' in stage
    assert any(line.startswith("CMD") and '"service"' in line for line in stage)


def test_the_final_image_has_no_compiler_and_copies_only_the_environment() -> None:
    containerfile = CONTAINERFILE.read_text(encoding="utf-8")
    stage = final_stage(containerfile)
    words = " ".join(stage).replace(",", " ").split()
    for tool in BUILD_TOOLS:
        assert tool not in words, tool
    copies = [line for line in stage if line.startswith("COPY ")]
    assert copies == ["COPY --from=build /opt/amtsweg /opt/amtsweg"]
    assert "--require-hashes --no-deps" in containerfile.replace("\\\n", " ").replace("  ", " ")
    froms = [line for line in containerfile.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2, "multi-stage: a build stage and the image"
    base = next(
        line.split("=", 1)[1]
        for line in containerfile.splitlines()
        if line.startswith("ARG PYTHON_IMAGE=")
    )
    assert base.startswith("python:3.11.")
    assert "slim" in base
    assert "latest" not in base


def test_the_runtime_lock_is_the_products_share_of_the_lock() -> None:
    result = subprocess.run(
        [sys.executable, str(RUNTIME_LOCK), "requirements.lock", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    blocks: list[list[str]] = []
    for line in result.stdout.splitlines():
        if line.startswith(" "):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    names = {block[0].split("==")[0] for block in blocks}
    assert {"fastapi", "faststream", "aiokafka", "eventsourcing", "psycopg", "lxml"} <= names
    assert not names & {"pytest", "ruff", "mypy", "matplotlib", "moto", "uv", "schemathesis"}
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for block in blocks:
        assert "\n".join(block) in lock  # unchanged
        assert len(block) > 1, block[0]  # and hash-checked


def _healthcheck(metrics_port: int, http_port: int) -> int:
    """The image's HEALTHCHECK command run here: its exit code."""
    environment = {"AMTSWEG_METRICS_PORT": str(metrics_port), "AMTSWEG_HTTP_PORT": str(http_port)}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)], env=environment, check=False, timeout=30
    ).returncode


def _serving(status: int) -> tuple[http.server.HTTPServer, threading.Thread]:
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path in {"/readyz", "/healthz"} else 404)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_health_check_reports_the_services_readiness(status: int, healthy: bool) -> None:
    server, thread = _serving(status)
    port = server.server_address[1]
    try:
        as_worker = _healthcheck(metrics_port=port, http_port=free_tcp_port())
        as_intake = _healthcheck(metrics_port=free_tcp_port(), http_port=port)
    finally:
        server.shutdown()
        thread.join()
    assert (as_worker == 0, as_intake == 0) == (healthy, healthy)
    assert _healthcheck(free_tcp_port(), free_tcp_port()) == 1  # nothing answers
