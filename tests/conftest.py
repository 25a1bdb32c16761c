"""Shared test helpers: real components are required in CI (CANARIA_REQUIRE_INTEGRATION=1), optional on a laptop."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRE = os.environ.get("CANARIA_REQUIRE_INTEGRATION") == "1"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def require_binary(name: str, *candidates: str) -> str:
    """Path of a real component's binary; skip with a reason locally, fail in CI."""
    for candidate in (name, *candidates):
        path = shutil.which(candidate) or (candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK)
                                           else None)
        if path:
            return path
    message = f"{name} is not installed (scripts/test.sh installs it from Debian)"
    if REQUIRE:
        pytest.fail(f"CANARIA_REQUIRE_INTEGRATION=1 but {message}")
    pytest.skip(message)
    raise AssertionError("unreachable")


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
