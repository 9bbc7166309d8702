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
from typing import NamedTuple

from siren_sync import commissions
from siren_sync.closing import queue_record
from siren_sync.errors import UsageError
from siren_sync.model import payable_at_of
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS
from siren_sync.values import iso


class Decision(NamedTuple):
    """What `approve` found or did: the decision, whether this call made it, and when what was
    decided is payable from (its hold's end, or when it was earned), so the message can say it."""

    decision: str
    made: bool
    payable_from: datetime


def decide(store: Store, distribution_id: str, reject: bool, reason: str, now: datetime) -> Decision:
    """Approve (or reject) a draft distribution; returns its decision and whether this call made it.
    Read under the write lock, so a decision made meanwhile by another command is seen."""
    with store.transaction() as tx:
        summary = tx.get(DISTRIBUTIONS, distribution_id)
        if summary is None:
            raise UsageError(f"unknown distribution {distribution_id!r} (see `siren-sync history`)")
        decision, made = _decision(summary.get("review", "approved"), reject, f"distribution {distribution_id}")
        if made:
            tx.put(DISTRIBUTIONS, distribution_id, _stamped(summary, now, reason, review=decision))
            queue_record(tx, distribution_id)
    return Decision(decision, made, payable_at_of(summary))


def decide_reward(store: Store, reward_id: str, reject: bool, reason: str, now: datetime) -> Decision:
    """Approve (or reject) a program reward waiting for review (`draft`): `pending` (payable once its
    hold is over) or `rejected`; returns its decision and whether this call made it. Final, too.
    The reward is read again under the write lock: a refund the programs wrote meanwhile (which
    may have taken it to zero, `rejected`) is decided on, never overwritten."""
    found = commissions.find(store, reward_id)
    if found is None or "of" in found.doc:
        raise UsageError(f"unknown distribution or program reward {reward_id!r} (see `siren-sync history`)")
    table, reward_id = found.table, found.ident  # its earning month's table (day, in an older store): it never moves
    with store.transaction() as tx:
        doc = tx.get(table, reward_id)
        if doc is None:  # rewards are never deleted: only a store changed by hand
            raise UsageError(f"program reward {reward_id!r} disappeared from the store while it was being decided")
        current = {"draft": "draft", "rejected": "rejected"}.get(doc.get("status", "pending"), "approved")
        if current == "rejected" and not reject and "reviewed_at" not in doc:  # no one decided: its refunds did
            raise UsageError(f"program reward {reward_id} is rejected: its refunds took it back whole, "
                             "nothing is left to approve")
        decision, made = _decision(current, reject, f"program reward {reward_id}")
        if made:
            tx.put(table, reward_id, _stamped(doc, now, reason, status="rejected" if reject else "pending"))
    return Decision(decision, made, commissions.obligation_of(reward_id, doc).payable_from)


def _decision(current: str, reject: bool, what: str) -> tuple[str, bool]:
    """(the decision, whether this call makes it) for something now `current`: final once made."""
    wanted = "rejected" if reject else "approved"
    if current == wanted:
        return current, False
    if current != "draft":
        raise UsageError(f"{what} is already {current}: a decision is final")
    return wanted, True


def _stamped(doc: dict, now: datetime, reason: str, **decided: str) -> dict:
    stamped = dict(doc, reviewed_at=iso(now), **decided)
    if reason:
        stamped["reason"] = reason
    return stamped
