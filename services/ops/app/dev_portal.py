"""A development portal token for ``amtsweg run`` when no portal is configured."""

from __future__ import annotations

import secrets
from pathlib import Path

from rich.console import Console

from services.intake.auth import token_hash
from services.intake.settings import IntakeSettings

DEV_PORTAL = "dev-portal"


def ensure_dev_portal(settings: IntakeSettings, data_dir: Path, console: Console) -> IntakeSettings:
    """With no ``AMTSWEG_PORTAL_TOKENS``, create (once) a token for portal ``dev-portal``.

    The token is written to ``<data dir>/dev-portal.token`` (mode 0600); only its hash is
    kept in memory.
    """
    if settings.portal_tokens:
        return settings
    path = data_dir / "dev-portal.token"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    console.print(f"No AMTSWEG_PORTAL_TOKENS set: portal '{DEV_PORTAL}' uses the token in {path}")
    token = path.read_text().strip()
    return settings.model_copy(update={"portal_tokens": {DEV_PORTAL: token_hash(token)}})
