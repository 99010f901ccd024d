"""End-to-end tests: every authority of the bundled directory has the test encryption key."""

from __future__ import annotations

import pytest

from tests.support.authority import authorities_have_keys, directory_with_keys

__all__ = ["authorities_have_keys", "directory_with_keys"]


@pytest.fixture(autouse=True)
def _keys(authorities_have_keys: None) -> None:
    """Deliveries are never plaintext: every authority of the bundled directory has a key."""
