"""A process that signs envelopes refuses to start without the signing keys, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("service", ["relay", "intake"])
def test_a_signing_service_does_not_start_without_the_key_file(
    tmp_path: Path, service: str
) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("AMTSWEG_DELIVERY_SIGNING_KEYS_FILE", "AMTSWEG_DEVELOPMENT")
    }
    environment["AMTSWEG_DATA_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "-m", "services.ops.cli", "service", service],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE is not set" in done.stderr
    assert "amtsweg keys create-signing-key" in done.stderr
