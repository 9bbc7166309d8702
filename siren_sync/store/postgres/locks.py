"""The advisory locks of a namespace: its write lock and its leader lock.

Both are PostgreSQL advisory locks on a 64-bit key made from the namespace, so namespaces never
wait for each other. The write lock is transaction-scoped (`pg_advisory_xact_lock`): taken at the
start of a store transaction, released by its COMMIT or ROLLBACK, or by the server when the session
dies. The leader lock is session-scoped (`pg_try_advisory_lock`) on the leader's own connection:
released when that connection closes, however it closes. `pg_locks` shows who holds either.
"""
from __future__ import annotations

import hashlib
from typing import Any


def lock_key(kind: str, namespace: str) -> int:
    """The signed 64-bit advisory lock key of `kind` ('write' or 'leader') for `namespace`."""
    digest = hashlib.blake2b(f"siren-sync {kind} {namespace}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def halves(key: int) -> tuple[int, int]:
    """How `pg_locks` shows a 64-bit advisory key: (classid, objid), the high and low 32 bits."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def holders(conn: Any, key: int) -> list[str]:
    """The sessions holding the advisory lock `key`, as `pg_stat_activity` names them."""
    classid, objid = halves(key)
    rows = conn.execute(
        """SELECT coalesce(nullif(a.application_name, ''), 'backend ' || l.pid) FROM pg_locks l
           LEFT JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (classid, objid)).fetchall()
    return [row[0] for row in rows]
