"""Payout files, byte for byte: Siren's payout CSV and PayPal Payouts' upload file (DESIGN section 7).

Both are UTF-8 without a byte-order mark, every line ends with `\\n`, and a cell holding a comma, a
double quote, a carriage return or a line feed is quoted with its quotes doubled (RFC 4180; Python's
`csv` leaves a lone carriage return unquoted, so cells are written here). A text cell a spreadsheet
would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
`'`, the usual neutraliser (OWASP, "CSV injection"). Amounts are not text: they are numbers this
code wrote (`30.00`, `-5.00`), never neutralised, so a negative one stays a number and every
amount stays exact.

- `siren`: the header `Payout ID,Collaborator Email,Collaborator Name,Collaborator ID,Currency,Value`,
  one row per payout, the Payout ID `<fulfillment>:<collaborator>`, the Value with the unit's
  decimals; a collaborator no longer known shows `<deleted>` for email and name, as Siren does.
- `paypal`: no header; rows `email,amount,currency,customer id,note,PAYPAL`; one currency per file,
  at most 5,000 rows; the customer id is `<fulfillment>-<n>`, n the payout's number in the
  fulfillment (its row number when the fulfillment pays one currency; unique across the files of
  one that pays several).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from siren_sync.engine.units import is_currency
from siren_sync.errors import UsageError
from siren_sync.model import Collaborator, Obligation, Payout
from siren_sync.output import STDOUT

FORMATS = ("siren", "paypal")
SIREN_HEADER = ("Payout ID", "Collaborator Email", "Collaborator Name", "Collaborator ID", "Currency", "Value")
DELETED = "<deleted>"
PAYPAL_ROW_LIMIT = 5000
PAYPAL_ID_LIMIT = 30
PAYPAL_WALLET = "PAYPAL"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTED = re.compile(r'[,"\r\n]')
_EMAIL = re.compile(r'[^@\s,"]+@[^@\s,"]+')


def text_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: a leading `'` before what would start a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def amount_cell(amount: Decimal) -> str:
    """A plain decimal with its unit's decimals (`30.00`, `-5.00`, `3000`), never in exponent form."""
    return format(amount, "f")


def _line(cells: Iterable[str]) -> str:
    return ",".join('"' + c.replace('"', '""') + '"' if _QUOTED.search(c) else c for c in cells) + "\n"


def _encode(lines: Iterable[str]) -> bytes:
    return "".join(lines).encode("utf-8")


def _identity(collaborators: Mapping[str, Collaborator], who: str) -> tuple[str, str]:
    known = collaborators.get(who)
    return (known.email, known.name) if known is not None else (DELETED, DELETED)


def siren_file(payouts: Sequence[Payout], collaborators: Mapping[str, Collaborator]) -> bytes:
    """Siren's payout CSV: one row per payout."""
    return _siren([(p.id, p.collaborator, p.units, p.amount) for p in payouts], collaborators)


def siren_obligations(obligations: Sequence[Obligation], collaborators: Mapping[str, Collaborator]) -> bytes:
    """Siren's columns, one row per obligation (its id as the Payout ID): a listing, not a payment."""
    return _siren([(o.id, o.collaborator, o.units, o.amount) for o in obligations], collaborators)


def _siren(rows: Iterable[tuple[str, str, str, Decimal]], collaborators: Mapping[str, Collaborator]) -> bytes:
    lines = [_line(SIREN_HEADER)]
    for ident, who, units, amount in rows:
        email, name = _identity(collaborators, who)
        lines.append(_line([text_cell(ident), text_cell(email), text_cell(name), text_cell(who), text_cell(units),
                            amount_cell(amount)]))
    return _encode(lines)


def paypal_recipient(collaborators: Mapping[str, Collaborator], who: str) -> str | None:
    """The email PayPal can pay, or None: missing, not one address, or starting like a formula
    (neutralising it would send the money to another address)."""
    known = collaborators.get(who)
    email = known.email.strip() if known is not None else ""
    if not _EMAIL.fullmatch(email) or email.startswith(FORMULA_STARTS):
        return None
    return email


def paypal_refusal(payouts: Sequence[Payout], collaborators: Mapping[str, Collaborator]) -> str | None:
    """Why these payouts cannot all go to PayPal (custom units, unpayable emails), or None."""
    custom = sorted({p.units for p in payouts if not is_currency(p.units)})
    if custom:
        return (f"{', '.join(custom)} is not a currency: PayPal pays currencies only "
                f"(select currency units with --units, or use --format siren)")
    unpayable = sorted({p.collaborator for p in payouts if paypal_recipient(collaborators, p.collaborator) is None})
    if unpayable:
        return f"PayPal needs an email address for {', '.join(unpayable)}"
    return None


def paypal_files(out: str, numbered: Sequence[tuple[int, Payout]], collaborators: Mapping[str, Collaborator],
                 note: str) -> dict[str, bytes]:
    """PayPal's upload files: `out` for one currency, `<name>.<UNIT><ext>` for each of several.

    `numbered` pairs each payout with its number in the fulfillment. Raises UsageError for what
    PayPal would refuse: a custom unit, a missing email, more than 5,000 rows, several currencies
    to standard output.
    """
    refusal = paypal_refusal([p for _, p in numbered], collaborators)
    if refusal:
        raise UsageError(refusal)
    currencies = sorted({p.units for _, p in numbered})
    if len(currencies) > 1 and out == STDOUT:
        raise UsageError(f"PayPal takes one currency a file and this pays {', '.join(currencies)}: "
                         f"give --out a file name (one file per currency is written)")
    files = {}
    for units in currencies:
        rows = [(n, p) for n, p in numbered if p.units == units]
        if len(rows) > PAYPAL_ROW_LIMIT:
            raise UsageError(f"PayPal takes at most {PAYPAL_ROW_LIMIT:,} rows a file and {units} has {len(rows):,} "
                             f"payouts: fulfil fewer at a time with --collaborator, or use --format siren")
        path = out if len(currencies) == 1 else per_currency(out, units)
        files[path] = _encode(_paypal_row(n, p, collaborators, note) for n, p in rows)
    return files


def per_currency(out: str, units: str) -> str:
    """`payouts.csv` -> `payouts.USD.csv` (a name without an extension gets `.USD`)."""
    path = Path(out)
    return str(path.with_name(f"{path.stem}.{units}{path.suffix}")) if path.suffix else f"{out}.{units}"


def _paypal_row(number: int, payout: Payout, collaborators: Mapping[str, Collaborator], note: str) -> str:
    customer_id = f"{payout.fulfillment}-{number}"
    if len(customer_id) > PAYPAL_ID_LIMIT or " " in customer_id:
        raise UsageError(f"PayPal's customer id {customer_id!r} would be over {PAYPAL_ID_LIMIT} characters")
    email = paypal_recipient(collaborators, payout.collaborator) or ""
    return _line([email, amount_cell(payout.amount), payout.units, customer_id, text_cell(note), PAYPAL_WALLET])
