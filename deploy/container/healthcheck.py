"""The image's HEALTHCHECK: is this container's Amtsweg service alive and ready?

One image runs every service (``amtsweg service <name>``), so the check does not know
which one it is: the HTTP intake answers ``/healthz`` on ``AMTSWEG_HTTP_PORT``, every
other service ``/readyz`` beside ``/metrics`` on ``AMTSWEG_METRICS_PORT``. The container is
healthy when either answers 200. Standard library only: it runs in the final image.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 3.0


def probe_urls(environment: dict[str, str]) -> list[str]:
    """Where this container's service answers its readiness, in the order tried."""
    metrics = environment.get("AMTSWEG_METRICS_PORT") or "9464"
    http = environment.get("AMTSWEG_HTTP_PORT") or "8080"
    return [f"http://127.0.0.1:{metrics}/readyz", f"http://127.0.0.1:{http}/healthz"]


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within the timeout."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - a fixed http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    """Exit 0 when the service is ready, 1 otherwise (Docker's HEALTHCHECK contract)."""
    healthy = any(answers(url) for url in probe_urls(dict(os.environ)))
    sys.exit(0 if healthy else 1)


if __name__ == "__main__":
    main()
