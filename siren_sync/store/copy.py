"""Copying a whole store to an empty one, whatever the two backends (`siren-sync store copy`).

Every table (documents as they are) and every event bucket (records in their recording order, so
the key index of the copy holds the same digests) go into the target in one transaction: the copy
is whole or not at all, and a target that already holds anything is refused rather than merged.
What the store keeps for itself (TinyDB's manifest and generation, PostgreSQL's generation and
leader epoch) is not copied: each backend keeps its own. A copy holds the events of the store in
memory while it commits (about 250 bytes an event).
"""
from __future__ import annotations

from dataclasses import dataclass

from siren_sync.errors import StoreError
from siren_sync.store.protocol import Store


@dataclass(frozen=True)
class Copied:
    """What a copy moved."""

    tables: int
    documents: int
    buckets: int
    events: int


def copy_store(source: Store, target: Store) -> Copied:
    """Copy everything `source` holds into the empty `target` (both open; `target` a writer)."""
    tables = source.tables()
    buckets = source.buckets()
    documents = events = 0
    with target.transaction() as tx:
        if target.tables() or target.buckets():
            raise StoreError(f"store {target.location} is not empty: a copy goes into an empty store only "
                             f"(nothing was written)")
        for table in tables:
            docs = source.table(table)
            tx.put_many(table, docs)
            documents += len(docs)
        for bucket in buckets:
            records = list(source.events(bucket))
            tx.append_events(bucket, records)
            events += len(records)
    if target.event_count() != source.event_count() or target.tables() != tables:
        raise StoreError(f"store {target.location}: the copy does not read back as the original")
    return Copied(tables=len(tables), documents=documents, buckets=len(buckets), events=events)
