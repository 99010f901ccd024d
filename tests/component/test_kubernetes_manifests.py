"""The Kubernetes manifests as ``kubectl kustomize`` renders the example overlay.

Every check reads the rendered objects, so a change to the base or the overlay that
runs a container as root, drops a probe or puts a secret into plain configuration fails
here. Without ``kubectl`` the test fails (it does not skip): CI must render them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.ops.app.bootstrap import SERVICES

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "example"
SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "DSN")
SECRET_MOUNT = "/run/secrets/"
PLAIN_URLS = {
    "AMTSWEG_BLOB_URL",
    "AMTSWEG_FITCONNECT_PUBLIC_URL",
    "AMTSWEG_DELIVERY_PUBLIC_BASE_URL",
}
"""URLs that never carry credentials (S3 credentials are AWS_* variables)."""
SINGLETONS_WITH_STANDBY = ("relay", "notifier")

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed: the Kubernetes manifests cannot be rendered")
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(rendered: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in rendered if doc["kind"] == kind]


def deployments(rendered: list[Manifest]) -> dict[str, Manifest]:
    """The Deployments by the service they run (``amtsweg service <name>``)."""
    found = {}
    for deployment in of_kind(rendered, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"][0] == "service"
        found[container["args"][1]] = deployment
    return found


def containers(rendered: list[Manifest]) -> Iterator[tuple[str, Manifest, Manifest]]:
    """``(deployment name, pod spec, container)`` of every container and init container."""
    for deployment in of_kind(rendered, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in [*pod["containers"], *pod.get("initContainers", [])]:
            yield deployment["metadata"]["name"], pod, container


def test_every_service_has_its_deployment_in_the_overlays_namespace(
    rendered: list[Manifest],
) -> None:
    assert sorted(deployments(rendered)) == sorted(SERVICES)
    namespaced = [doc for doc in rendered if doc["kind"] != "Namespace"]
    assert {doc["metadata"].get("namespace") for doc in namespaced} == {"amtsweg-example"}


def test_every_container_runs_as_a_fixed_non_root_user_without_privileges(
    rendered: list[Manifest],
) -> None:
    for name, pod, container in containers(rendered):
        pod_context, context = pod["securityContext"], container["securityContext"]
        for level in (pod_context, context):
            assert level["runAsNonRoot"] is True, name
            assert level["runAsUser"] == 10001, name
            assert level["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        assert not context.get("capabilities", {}).get("add"), name
        assert not context.get("privileged", False), name
        assert pod["automountServiceAccountToken"] is False, name


def test_what_is_written_goes_to_a_volume(rendered: list[Manifest]) -> None:
    for name, pod, container in containers(rendered):
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], name
        assert "emptyDir" in volumes[mounts["/var/lib/amtsweg"]], name  # the data dir
        assert "persistentVolumeClaim" in volumes[mounts["/var/lib/amtsweg/shared"]], name


def test_every_container_has_real_probes_and_resources(rendered: list[Manifest]) -> None:
    for name, _pod, container in containers(rendered):
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            check = container[probe]["httpGet"]
            assert check["port"] in ports, (name, probe)
            assert check["path"] in {"/healthz", "/livez", "/readyz"}, (name, probe)
        if container["args"] != ["service", "intake"]:  # beside /metrics, health.py
            assert ports == {"metrics": 9464}, name
            assert container["livenessProbe"]["httpGet"]["path"] == "/livez", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)


def test_images_are_pinned_to_a_tag_other_than_latest(rendered: list[Manifest]) -> None:
    for name, _pod, container in containers(rendered):
        image = container["image"]
        last = image.rsplit("/", 1)[-1]
        assert "@sha256:" in image or ":" in last, (name, image)
        assert not image.endswith(":latest"), (name, image)


def _secret_named(name: str) -> bool:
    """Whether the name says its value is a secret (or a URL that may carry one)."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS) or (
        "URL" in upper and upper not in PLAIN_URLS
    )


def _plain_value_is_safe(name: str, value: str, secret_mounts: set[str]) -> bool:
    """A plain value under a secret-sounding name is only a path into a mounted Secret."""
    if not name.endswith(("_FILE", "_FOLDER")):
        return False
    return any(value.startswith(f"{mount}/") for mount in secret_mounts)


def test_no_secret_is_plain_configuration(rendered: list[Manifest]) -> None:
    configs = {
        doc["metadata"]["name"]: doc.get("data", {}) for doc in of_kind(rendered, "ConfigMap")
    }
    assert not of_kind(rendered, "Secret"), "Secrets are created by the operator, not here"
    for name, pod, container in containers(rendered):
        secret_volumes = {volume["name"] for volume in pod["volumes"] if "secret" in volume}
        secret_mounts = {
            mount["mountPath"]
            for mount in container["volumeMounts"]
            if mount["name"] in secret_volumes
        }
        assert all(mount.startswith(SECRET_MOUNT) for mount in secret_mounts), name
        plain: dict[str, str] = {}
        for source in container.get("envFrom", []):
            assert "configMapRef" in source or "secretRef" in source, name
            if "configMapRef" in source:
                plain |= configs[source["configMapRef"]["name"]]
        for variable in container.get("env", []):
            if "value" in variable:
                plain[variable["name"]] = variable["value"]
            else:
                assert set(variable["valueFrom"]) <= {"secretKeyRef", "configMapKeyRef", "fieldRef"}
                if "configMapKeyRef" in variable["valueFrom"]:
                    plain[variable["name"]] = "(from a ConfigMap)"
        for variable, value in plain.items():
            if _secret_named(variable):
                assert _plain_value_is_safe(variable, value, secret_mounts), (name, variable)
            assert "://" not in value or "@" not in value.split("://", 1)[1], (name, variable)


def test_ledger_and_broker_come_from_the_operators_secret(rendered: list[Manifest]) -> None:
    for name, _pod, container in containers(rendered):
        sources = {
            variable["name"]: variable["valueFrom"]["secretKeyRef"]["name"]
            for variable in container["env"]
            if "secretKeyRef" in variable.get("valueFrom", {})
        }
        assert sources["AMTSWEG_LEDGER_URL"] == "amtsweg-connections", name
        assert sources["KAFKA_BOOTSTRAP_SERVERS"] == "amtsweg-connections", name
        assert sources["AMTSWEG_LEDGER_CHAIN_KEYS"] == "amtsweg-secrets", name


def test_a_pod_disruption_budget_for_every_deployment(rendered: list[Manifest]) -> None:
    budgets = [budget["spec"] for budget in of_kind(rendered, "PodDisruptionBudget")]
    for name, deployment in deployments(rendered).items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            budget
            for budget in budgets
            if budget["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, name
        assert covering[0].get("maxUnavailable") == 1 or covering[0].get("minAvailable"), name


def test_the_singletons_run_with_a_standby_and_upgrade_one_pod_at_a_time(
    rendered: list[Manifest],
) -> None:
    found = deployments(rendered)
    for name in SINGLETONS_WITH_STANDBY:
        assert found[name]["spec"]["replicas"] == 2, name
    for name, deployment in found.items():
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        assert rolling["maxUnavailable"] == 0, name


def test_the_intake_and_every_metrics_port_have_a_service(rendered: list[Manifest]) -> None:
    services = {
        service["metadata"]["name"]: service["spec"] for service in of_kind(rendered, "Service")
    }
    for name, deployment in deployments(rendered).items():
        spec = services[deployment["metadata"]["name"]]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"].items() <= labels.items(), name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        names = {port["name"] for port in container["ports"]}
        assert {port["targetPort"] for port in spec["ports"]} <= names, name
