"""Obligations as payouts: Siren's CSV export, and marking what was exported as paid.

The CSV has Siren's payout export columns in Siren's order, so the file can go to the same finance
tools. `--mark-paid` marks exactly the obligations written to the file, in a store transaction
committed only after the file is safely on disk.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from siren_sync.files import write_atomic
from siren_sync.model import Collaborator, Obligation
from siren_sync.store.protocol import Store
from siren_sync.tables import obligations_table

CSV_COLUMNS = ("Payout ID", "Collaborator Email", "Collaborator Name", "Collaborator ID", "Currency", "Value")


def csv_text(obligations: list[Obligation], collaborators: Mapping[str, Collaborator]) -> str:
    """Siren's export: a deleted collaborator shows `<deleted>` for email and name, as Siren does."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for o in obligations:
        who = collaborators.get(o.collaborator)
        writer.writerow([o.id, who.email if who else "<deleted>", who.name if who else "<deleted>",
                         o.collaborator, o.units, str(o.amount)])
    return out.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """The CSV appears whole or not at all: a half-written payout file is worse than none."""
    write_atomic(Path(path), text.encode("utf-8"))


def mark_paid(store: Store, obligations: list[Obligation], when: str) -> int:
    """Mark these (and only these) pending obligations paid."""
    count = 0
    with store.transaction() as tx:
        for o in obligations:
            table = obligations_table(o.distribution)
            current = tx.get(table, o.collaborator)
            if current and current.get("status", "pending") == "pending":
                tx.put(table, o.collaborator, dict(current, status="paid", paid_at=when))
                count += 1
    return count
