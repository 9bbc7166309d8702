"""The one error taxonomy (siren_sync/errors.py): which exit status each door gives, and the parts a
caller decides on (a quarantined record's where and reason, a sync error's endpoint, status and code)."""
from __future__ import annotations

import pytest

from siren_sync.errors import (
    AuthError,
    ConfigError,
    RecordError,
    RetriableSyncError,
    ScheduleError,
    SirenSyncError,
    StoreError,
    StoreLockedError,
    SyncError,
    UsageError,
)


@pytest.mark.parametrize("kind", [ConfigError, UsageError, ScheduleError])
def test_config_and_usage_errors_exit_2(kind):
    assert kind("bad").exit_code == 2


@pytest.mark.parametrize("kind", [SirenSyncError, StoreError, StoreLockedError, SyncError, RetriableSyncError,
                                  AuthError])
def test_failures_exit_1(kind):
    assert kind("failed").exit_code == 1


def test_record_error_exits_1_and_keeps_where_and_reason_apart():
    error = RecordError("wc/v3/orders#1042", "total is not a number: 'abc'")
    assert error.exit_code == 1
    assert (error.where, error.reason) == ("wc/v3/orders#1042", "total is not a number: 'abc'")
    assert str(error) == "wc/v3/orders#1042: total is not a number: 'abc'"


def test_a_schedule_error_is_a_config_error():
    """`load_config` and every command catch ConfigError; a bad schedule is one of them."""
    assert issubclass(ScheduleError, ConfigError)


def test_every_error_is_a_siren_sync_error():
    """The command line turns exactly this family into one line and an exit status."""
    for kind in (ConfigError, UsageError, StoreError, SyncError, RetriableSyncError, AuthError, RecordError):
        assert issubclass(kind, SirenSyncError)


def test_sync_error_names_its_endpoint_and_keeps_status_and_code():
    error = SyncError("HTTP 404 rest_no_route", endpoint="wc/v3/refunds", status=404, code="rest_no_route")
    assert str(error) == "wc/v3/refunds: HTTP 404 rest_no_route"
    assert (error.endpoint, error.status, error.code, error.retry_after) == (
        "wc/v3/refunds", 404, "rest_no_route", None)
    assert error.detail == "HTTP 404 rest_no_route"


def test_sync_error_without_an_endpoint_is_its_message():
    error = SyncError("the site is down", code="connection")
    assert str(error) == error.detail == "the site is down"
    assert (error.endpoint, error.status, error.code) == (None, None, "connection")


def test_detail_cuts_only_the_leading_endpoint():
    error = SyncError("wc/v3/orders: said no", endpoint="wc/v3/orders")
    assert error.detail == "wc/v3/orders: said no"


def test_retriable_sync_error_is_retryable_and_keeps_retry_after():
    error = RetriableSyncError("HTTP 429", endpoint="wc/v3/orders", status=429, retry_after=30.0)
    assert error.retryable is True and error.retry_after == 30.0
    assert isinstance(error, SyncError)


@pytest.mark.parametrize("kind", [SyncError, AuthError])
def test_other_sync_errors_are_not_retried(kind):
    assert kind("HTTP 401", status=401).retryable is False
