"""What a test needs from the machine: in CI (`CI=true`) a missing prerequisite fails the test,
elsewhere it skips with a line saying how to get it. No test skips silently."""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(present: bool, what: str, how: str) -> None:
    """Go on when `present`; else fail in CI, skip elsewhere, naming `what` is missing and `how` to get it."""
    if present:
        return
    message = f"{what} is missing: {how}"
    if in_ci():
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)
