"""`siren-sync approve`: the review step of a distribution closed with `review: true`, and of a
program reward of a program with `review: true` (`decide_reward`).

A draft distribution is not published and nothing of it is payable. Approving it makes its
obligations `pending` (payable once their hold is over) and queues its record for the site;
rejecting it (with a reason) makes them `rejected` and queues a record that says so. The pool of
a rejected distribution is not carried into the next period. A decision is final: approving an
approved distribution again changes nothing, and a rejected one cannot be approved (nor the
reverse), since money may already have moved on the first decision.
"""
from __future__ import annotations

from datetime import datetime

from siren_sync import commissions
from siren_sync.closing import queue_record
from siren_sync.errors import UsageError
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS
from siren_sync.values import iso


def decide(store: Store, distribution_id: str, reject: bool, reason: str, now: datetime) -> tuple[str, bool]:
    """Approve (or reject) a draft distribution; returns its decision and whether this call made it."""
    summary = store.get(DISTRIBUTIONS, distribution_id)
    if summary is None:
        raise UsageError(f"unknown distribution {distribution_id!r} (see `siren-sync history`)")
    current, wanted = summary.get("review", "approved"), "rejected" if reject else "approved"
    if current == wanted:
        return current, False
    if current != "draft":
        raise UsageError(f"distribution {distribution_id} is already {current}: a decision is final")
    decided = dict(summary, review=wanted, reviewed_at=iso(now))
    if reason:
        decided["reason"] = reason
    with store.transaction() as tx:
        tx.put(DISTRIBUTIONS, distribution_id, decided)
        queue_record(tx, distribution_id)
    return wanted, True


def decide_reward(store: Store, reward_id: str, reject: bool, reason: str, now: datetime) -> tuple[str, bool]:
    """Approve (or reject) a program reward waiting for review (`draft`): `pending` (payable once its
    hold is over) or `rejected`; returns its decision and whether this call made it. Final, too."""
    found = commissions.find(store, reward_id)
    if found is None or "of" in found[1]:
        raise UsageError(f"unknown distribution or program reward {reward_id!r} (see `siren-sync history`)")
    table, doc = found
    current = {"draft": "draft", "rejected": "rejected"}.get(doc.get("status", "pending"), "approved")
    wanted = "rejected" if reject else "approved"
    if current == wanted:
        return current, False
    if current != "draft":
        raise UsageError(f"program reward {reward_id} is already {current}: a decision is final")
    decided = dict(doc, status="rejected" if reject else "pending", reviewed_at=iso(now))
    if reason:
        decided["reason"] = reason
    with store.transaction() as tx:
        tx.put(table, reward_id, decided)
    return wanted, True
