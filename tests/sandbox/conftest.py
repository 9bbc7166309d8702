"""One sandbox site over loopback for the sandbox's tests (started once, stopped at the end)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from siren_sync.sandbox import Sandbox
from tests.support.loopback import START, wp_session


@pytest.fixture(scope="package")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=1, start=START, history_days=30, days=30, orders_per_day=40) as box:
        yield box


@pytest.fixture(scope="package")
def wp(sb: Sandbox) -> requests.Session:
    return wp_session(sb)
