"""One exception taxonomy for the whole worker.

Every failure goes through one of three doors, as in singer-sdk: a configuration or usage error
(exit 2, nothing ran), a sync or store failure (exit 1; the worker retries on its next turn), or a
skippable record (`RecordError`: quarantined with its reason, the rest goes on). Retriable HTTP
failures (`RetriableSyncError`) are retried inside `sources.http` and only surface once the retry
budget is spent. Nothing else is raised on purpose: the HTTP layer and every source raise these.
Messages are one line and never hold a secret.
"""
from __future__ import annotations


class SirenSyncError(Exception):
    """Base of every error siren-sync raises on purpose; its message is shown to the user as is."""

    exit_code = 1


class ConfigError(SirenSyncError):
    """The configuration (file, key or value) is wrong: `<file>: <key>: <what is wrong>`."""

    exit_code = 2


class UsageError(SirenSyncError):
    """The command line asks for something that does not exist (unknown distributor, bad date)."""

    exit_code = 2


class ScheduleError(ConfigError):
    """A schedule modifier string that PHP's DateTime::modify() would not accept."""


class StoreError(SirenSyncError):
    """The store cannot be read or written; it is left untouched."""


class StoreLockedError(StoreError):
    """Another process holds the store's lock: it leads (a second worker on a TinyDB store, a
    command that closes or publishes while a worker runs), or its transaction outlasted the wait."""


class LeadershipLost(StoreError):
    """A leader's commit was refused by its fence (PostgreSQL): another worker took over, or this
    one lost its lock with its connection. Nothing was committed; the worker stands by."""


class OutputError(SirenSyncError):
    """A file the user asked for (a payout file) could not be written: no permission, a full disk.
    Nothing was recorded; no part of the file is left behind."""


class SyncError(SirenSyncError):
    """A source could not be read: `<endpoint>: <what happened>`. This poll of the source stops; the
    worker tries again on its next turn, a command exits 1. Raised by the HTTP layer and by sources.

    `endpoint` (the path below the REST root), `status` (HTTP status) and `code` (WordPress's error
    code, or ours: `timeout`, `connection`, `html`, ...) are kept apart so callers can decide on them.
    """

    retryable = False

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None,
                 code: str | None = None, retry_after: float | None = None):
        super().__init__(f"{endpoint}: {message}" if endpoint else message)
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def detail(self) -> str:
        """The message without its endpoint (for a message that adds to it)."""
        text = str(self)
        return text[len(self.endpoint) + 2:] if self.endpoint and text.startswith(f"{self.endpoint}: ") else text


class RetriableSyncError(SyncError):
    """A failure that may pass (timeout, refused connection, 429, 5xx, a garbled body): the HTTP
    layer retries it with backoff, and raises it once its retry budget is spent."""

    retryable = True


class AuthError(SyncError):
    """The site refused our credentials or their permissions (401/403); retrying will not help."""


class RecordError(SirenSyncError):
    """One upstream record is invalid; it is quarantined with this message and the sync goes on."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
