"""The gauge of submissions by tenant and status, with a tenants file configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from events.ledger import Ledger
from events.relay_store import relay_store
from events.vault import Vault
from services.delivery.projector import DeliveryProjector
from services.delivery.store import delivery_store
from services.ops.app.bootstrap import Core, Wiring
from services.ops.app.settings import Settings
from services.ops.readmodels.metrics.collector import DeploymentMetrics
from services.ops.readmodels.metrics.projector import StageProjector
from services.ops.readmodels.metrics.store import metrics_store
from tests.support.factories import new_submission
from tests.support.metrics import parse, value

TENANTS = {
    "tenants": [
        {"id": "st", "name": "Sachsen-Anhalt", "portals": ["portal-b"], "states": ["15"]},
        {"id": "nw", "name": "Nordrhein-Westfalen", "states": ["05"]},
    ]
}


def _metrics(wiring: Wiring, ledger: Ledger, registry: CollectorRegistry) -> DeploymentMetrics:
    return DeploymentMetrics(
        ledger,
        StageProjector(ledger, metrics_store(ledger.settings), lambda _: None),
        DeliveryProjector(ledger, delivery_store(ledger.settings), lambda _: False),
        relay_store(ledger.settings),
        offsets=None,
        registry=registry,
        tenants=wiring.tenant_figures(),
    )


async def test_submissions_by_tenant_and_status(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps(TENANTS))
    monkeypatch.setenv("AMTSWEG_TENANTS_FILE", str(tenants))
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(ledger.settings.data_dir))
    routed = new_submission(portal_id="portal-b")
    routed.validate("cat-1", "urn:x")
    routed.route("jobcenter-koeln", "053150000000", "05315", "dir-1")
    for submission in (routed, new_submission(portal_id="portal-b"), new_submission()):
        ledger.save(submission)

    registry = CollectorRegistry()
    wiring = Wiring(Settings.from_environment(), Core(ledger, vault))
    await _metrics(wiring, ledger, registry).collect()
    samples = parse(generate_latest(registry).decode())

    def gauge(tenant: str, status: str) -> float | None:
        return value(samples, "amtsweg_tenant_submissions", tenant=tenant, status=status)

    assert gauge("st", "routed") == 1  # portal-b's, routed to Köln: st and nw
    assert gauge("nw", "routed") == 1
    assert gauge("st", "received") == 1
    assert gauge("platform", "received") == 1  # portal-a is no tenant's
    assert gauge("nw", "received") is None
    tenants_seen = {
        dict(labels)["tenant"] for name, labels in samples if name == "amtsweg_tenant_submissions"
    }
    assert tenants_seen == {"st", "nw", "platform"}


async def test_without_tenants_there_is_no_tenant_gauge(
    ledger: Ledger, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AMTSWEG_TENANTS_FILE", raising=False)
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(ledger.settings.data_dir))
    ledger.save(new_submission())
    registry = CollectorRegistry()
    wiring = Wiring(Settings.from_environment(), Core(ledger, vault))
    assert wiring.tenant_figures() is None
    await _metrics(wiring, ledger, registry).collect()
    names = {name for name, _ in parse(generate_latest(registry).decode())}
    assert "amtsweg_tenant_submissions" not in names
    assert "amtsweg_submissions" in names
