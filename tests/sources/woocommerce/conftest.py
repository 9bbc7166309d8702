"""The WooCommerce tests' `responses` mock, in which the sandbox shop is served (`tests.support.shop`)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
