"""One exception taxonomy for the whole worker.

Every failure goes through one of three doors, as in singer-sdk: a configuration error (exit 2,
nothing ran), a fatal error (exit 1, stop now), or a skippable record (quarantined with its reason,
the rest goes on). Retriable HTTP failures are retried inside `sources.http` and only surface as
`SyncError` once the retry budget is spent. Messages are one line and never hold a secret.
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
    """Another process holds the store's lock file."""


class SyncError(SirenSyncError):
    """A source could not be read (after retries): `<endpoint>: <what happened>`."""


class AuthError(SyncError):
    """The site refused our credentials (401/403)."""


class RecordError(SirenSyncError):
    """One upstream record is invalid; it is quarantined with this message and the sync goes on."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
