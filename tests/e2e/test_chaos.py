"""`amtsweg chaos`, reduced: every service SIGKILLed and the broker restarted under load.

The command starts its own local broker (``--own-broker``: on free ports, with its own
data dir), since only a broker it owns can really be restarted; the session's broker is
shared with other tests. It runs as a child process, as an operator would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SERVICES = {"intake", "validation", "routing", "delivery", "relay", "notifier"}


def test_chaos_loses_nothing_when_every_service_and_the_broker_restart_under_load() -> None:
    command = [sys.executable, "-m", "services.ops.cli", "chaos", "--own-broker", "--json"]
    command += ["--rate", "10", "--duration", "20", "--kills", "1", "--seed", "20261128"]
    command += ["--pause-min", "0.5", "--pause-max", "1.5", "--settle-timeout", "90"]

    done = subprocess.run(
        command, capture_output=True, text=True, timeout=280, env=dict(os.environ), check=False
    )

    assert done.stdout, done.stderr[-4000:]
    report = json.loads(done.stdout)
    checks = report["checks"]
    assert done.returncode == 0, json.dumps(checks, indent=2) + done.stderr[-2000:]
    assert checks["ok"] is True
    assert checks["lost"] == 0
    assert checks["violations"] == 0
    assert report["load"]["offered"] == 200
    assert report["load"]["accepted"] > 0
    assert checks["accepted"] == report["load"]["accepted"]
    assert checks["dispatched"] > 0
    assert {name: c["accepted"] > 0 for name, c in report["load"]["channels"].items()} == {
        "http": True,
        "kafka": True,
    }
    per_service = report["faults"]["perService"]
    assert set(per_service) == SERVICES
    assert all(per_service[s]["kills"] >= 1 for s in SERVICES), per_service
    assert all(per_service[s]["restarts"] == per_service[s]["kills"] for s in SERVICES)
    assert report["faults"]["brokerRestarts"] == 1
    assert report["faults"]["brokerRestartSkipped"] is None
    assert report["quiet"]["reached"] is True
    assert set(report["exitCodes"].values()) == {0}
