"""`import` and `credit`: what is recorded, how every line is accounted for, how a bad line, a
conflict or a correction is reported, and that they work while a worker runs (they wait their turn
at the write lock; the worker's own jobs are refused)."""
from __future__ import annotations

import json
import sys
import time

import pytest

from tests.support.beside import hold, on_backend
from tests.support.cli import collab_yaml, credit, dist_yaml, distribute_json, sale


def _scores(site):
    code, out, err = site.run("standings", "--json")
    assert code == 0, err
    return {s["collaborator"]: s["score"] for s in json.loads(out)["standings"][0]["scores"]}


def test_import_twice_records_nothing_new(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.events([credit("alice", 3), sale("s1", "10.00")])
    assert site.run("import", str(path))[1].startswith("imported 2 new events from 2 lines (0 already recorded")
    assert site.run("import", str(path))[1].startswith("imported 0 new events from 2 lines (2 already recorded, "
                                                       "0 conflicting, 0 bad; 0 of the new late)")


def test_bad_import_lines_are_reported_and_the_rest_kept(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.root / "mixed.jsonl"
    path.write_text(json.dumps(credit("alice", 2)) + "\n{not json\n"
                    + json.dumps(credit("nobody", 1)) + "\n" + json.dumps(sale("s", "abc")) + "\n")
    code, out, err = site.run("import", str(path))
    assert code == 1
    assert "imported 1 new events from 4 lines (0 already recorded, 0 conflicting, 3 bad;" in out
    assert f"{path}:2: not JSON" in err and f"{path}:3: unknown collaborator 'nobody'" in err
    assert f"{path}:4: 'revenue' is 'abc', not a number" in err


def test_a_key_stored_with_other_values_is_a_conflict_naming_its_line(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 3, key="crm:1"), sale("s1", "10.00")])))
    again = site.events([sale("s1", "10.00"), credit("alice", 5, key="crm:1"),
                         credit("alice", 3, key="crm:1", at="2026-11-11T12:00:00+00:00")])
    code, out, err = site.run("import", str(again))
    assert code == 1
    assert out.startswith("imported 0 new events from 3 lines (1 already recorded, 2 conflicting, 0 bad;")
    assert f"{again}:2: key 'crm:1' is already recorded with other values (quantity differ) (skipped)" in err
    assert f"{again}:3: key 'crm:1' is already recorded with other values (at differ) (skipped)" in err
    other_month = site.events([credit("alice", 3, key="crm:1", at="2026-12-10T12:00:00+00:00")])
    code, out, err = site.run("import", str(other_month))
    assert code == 1 and f"{other_month}:1: key 'crm:1' is already recorded with another time (skipped)" in err
    assert _scores(site) == {"alice": "3"}  # nothing was overwritten


def test_two_lines_with_one_key_are_both_counted(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.events([credit("alice", 2, key="k"), credit("alice", 2, key="k"), credit("alice", 9, key="k")])
    code, out, err = site.run("import", str(path))
    assert code == 1
    assert out.startswith("imported 1 new events from 3 lines (1 already recorded, 1 conflicting, 0 bad;")
    assert f"{path}:3: key 'k' is also on line 1 with other values (quantity differ) (skipped)" in err
    assert _scores(site) == {"alice": "2"}


def test_invalid_utf8_is_one_bad_line_and_the_rest_is_kept(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.root / "bytes.jsonl"
    path.write_bytes(json.dumps(credit("alice", 1, key="a")).encode() + b"\n"
                     + b'{"key": "b\xff", "type": "manual"}\n' + json.dumps(credit("alice", 2, key="c")).encode())
    code, out, err = site.run("import", str(path))
    assert code == 1 and "Traceback" not in err
    assert out.startswith("imported 2 new events from 3 lines (0 already recorded, 0 conflicting, 1 bad;")
    assert f"{path}:2: not UTF-8 text (byte 0xff at column 11) (skipped)" in err


def test_a_byte_order_mark_and_crlf_import_as_they_are(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.root / "excel.jsonl"
    rows = [json.dumps(credit("alice", 1, key="a")), json.dumps(credit("alice", 2, key="b")), ""]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    code, out, err = site.run("import", str(path))
    assert code == 0 and "skipped" not in err
    assert out.startswith("imported 2 new events from 3 lines (0 already recorded, 0 conflicting, 0 bad, 1 blank;")
    assert _scores(site) == {"alice": "3"}


def test_imported_lines_from_stdin_are_counted_too(site, monkeypatch):
    import io
    site.config(collab_yaml(["alice"]), dist_yaml())
    data = (json.dumps(credit("alice", 1, key="a")) + "\n{bad\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = site.run("import", "-")
    assert code == 1 and out.startswith("imported 1 new events from 2 lines") and "-:2: not JSON" in err


BOUNDS = {
    "an exponent": (sale("s", "1e3"), "'revenue' is '1e3', not a number (write it plainly, without an exponent)"),
    "beyond the decimal arithmetic": (sale("s", "1" + "0" * 30),
                                      "more than 15 digits before the decimal point"),
    "too many decimals": (sale("s", "0.123456789"), "more than 8 decimals"),
    "a float": ({**sale("s", "0"), "revenue": 10.5}, "'revenue' must be a decimal string"),
    "a negative quantity": (credit("alice", -5), "'quantity' is -5: expected a whole number from 1 to 1,000,000 "
                                                 "(a correction says so: \"correction\": true)"),
    "a 32-digit quantity": (credit("alice", 10 ** 32), "expected a whole number from 1 to 1,000,000"),
    "a zero quantity": (credit("alice", 0), "'quantity' is 0"),
    "a float quantity": (credit("alice", 2.0), "'quantity' is 2.0, not a whole number"),
    "a positive correction": ({**credit("alice", 2), "correction": True}, "a correction takes away"),
    "a line quantity": ({**sale("s", "5.00"), "currency": "USD", "lines": [{"subtotal": "5.00", "quantity": 1e3}]},
                        "lines[0]: 'quantity' is 1000.0, not a whole number"),
    "lines that add up beyond the bounds": ({**sale("s", "1.00"), "currency": "USD",
                                            "lines": [{"subtotal": "900000000000000"}] * 2},
                                           "discount_total 1799999999999999.00 is beyond 15 digits"),
}


@pytest.mark.parametrize("row,reason", BOUNDS.values(), ids=BOUNDS.keys())
def test_amounts_and_counts_out_of_bounds_are_bad_lines(site, row, reason):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.events([row, credit("alice", 1, key="good")])
    code, out, err = site.run("import", str(path))
    assert code == 1 and "imported 1 new events from 2 lines" in out
    assert f"{path}:1: " in err and reason in err


def test_an_imported_correction_says_so_and_takes_points_back(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.events([credit("alice", 5, key="a"), {**credit("alice", -2, key="b"), "correction": True}])
    assert site.run("import", str(path))[0] == 0
    assert _scores(site) == {"alice": "3"}


def test_a_collaborator_typed_with_a_combining_accent_is_the_configured_one(site):
    site.config("  - {id: \"jos\u00e9\", name: Jose}", dist_yaml())
    path = site.events([credit("jose\u0301", 2, key="a")])
    assert site.run("import", str(path))[0] == 0
    assert site.run("credit", "jose\u0301", "--count", "3", "--at", "2026-11-10T12:00:00+00:00")[0] == 0
    assert _scores(site) == {"jos\u00e9": "5"}


def test_credit_a_correction_needs_to_say_so(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([sale("s1", "100.00")])))
    site.run("credit", "alice", "--count", "5", "--at", "2026-11-10T12:00:00+00:00")
    code, _, err = site.run("credit", "alice", "--count", "-3")
    assert code == 2 and err == ("siren-sync: --count is -3: expected a whole number from 1 to 1,000,000 "
                                 "(to take credits back, add --correction)\n")
    code, out, _ = site.run("credit", "alice", "--count", "-3", "--correction", "--at", "2026-11-11T12:00:00+00:00")
    assert code == 0 and out == "took back 3 x manual from alice at 2026-11-11T12:00:00+00:00\n"
    assert _scores(site) == {"alice": "2"}
    [dist] = distribute_json(site)
    assert dist["obligations"][0]["score"] == "2"


@pytest.mark.parametrize("count,why", [("0", "--count is 0"), ("1e3", "--count is '1e3', not a whole number"),
                                       ("1" + "0" * 31, "expected a whole number from 1 to 1,000,000"),
                                       ("1_000", "not a whole number"), ("2.5", "not a whole number")])
def test_credit_counts_are_plain_whole_numbers_within_bounds(site, count, why):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("credit", "alice", "--count", count)
    assert code == 2 and why in err and err.count("\n") == 1


def test_a_positive_correction_is_refused(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("credit", "alice", "--count", "3", "--correction")
    assert code == 2 and "give a negative --count" in err


# -- beside a running worker ---------------------------------------------------------------------

@pytest.fixture(params=["tinydb", "postgres"])
def either_site(request, site):
    """The `site` fixture on a TinyDB store, and again on a PostgreSQL namespace of its own."""
    site.config(collab_yaml(["alice"]), dist_yaml())
    on_backend(site, request.param)
    return site


def test_credit_waits_its_turn_while_another_process_writes(either_site):
    site = either_site
    holder = hold(site, "write", 1.5)
    started = time.monotonic()
    code, out, err = site.run("credit", "alice", "--at", "2026-11-05T12:00:00+00:00")
    assert code == 0 and out.startswith("credited 1 x manual to alice"), err
    assert time.monotonic() - started >= 0.8  # it waited for the other transaction
    assert holder.wait(30) == 0
    [standing] = json.loads(site.run("standings", "--json")[1])["standings"]
    assert standing["scores"] == [{"collaborator": "alice", "score": "1", "projected": "0"}]


def test_a_worker_leading_lets_commands_record_but_not_do_its_own_jobs(either_site):
    site = either_site
    worker = hold(site, "lead", 30)
    try:
        code, out, err = site.run("credit", "alice", "--at", "2026-11-05T12:00:00+00:00")
        assert code == 0 and out.startswith("credited 1 x manual to alice"), err
        code, _, err = site.run("distribute", "--as-of", "2026-12-02T00:00:00+00:00")
        assert code == 1 and "a siren-sync worker leads store" in err
        assert f"pid {worker.pid}" in err and "it closes due periods itself; stop it to close them by hand" in err
        code, _, err = site.run("sync")
        assert code == 1 and "it syncs the site itself" in err
        code, out, _ = site.run("distribute", "--as-of", "2026-12-02T00:00:00+00:00", "--dry-run")
        assert code == 0  # a dry run writes nothing: it needs no lead
    finally:
        worker.kill()
        worker.wait(30)
    assert site.run("distribute", "--as-of", "2026-12-02T00:00:00+00:00")[0] == 0  # the lead went with it


def test_a_reversal_of_a_sale_whose_line_was_skipped_is_skipped_too(site):
    """Before: the sale's line was bad (its lines add up past the bounds) but a reversal naming it on a
    later line was imported, counted among the new events, and took 40.00 from the pool's revenue."""
    site.config(collab_yaml(["alice"]), dist_yaml())
    rows = [{**sale("s", "100.00"), "currency": "USD", "lines": [{"subtotal": "900000000000000"}] * 2},
            {**sale("s:refund", "-40.00", at="2026-11-11T12:00:00+00:00"), "reverses": "s"}]
    path = site.events(rows)
    code, out, err = site.run("import", str(path))
    assert code == 1
    assert out.startswith("imported 0 new events from 2 lines (0 already recorded, 0 conflicting, 2 bad;")
    assert f"{path}:2: 'reverses': the sale 's' is on line 1, which was skipped (skipped)" in err
    code, out, _ = site.run("standings", "--json")
    assert json.loads(out)["standings"][0]["revenue"] == "0.00"


def test_lines_recorded_but_counting_nothing_are_named(site):
    """An inactive collaborator's event, or one dated more than a year ahead, is kept but counts
    nothing: before, the summary counted them among the new with no word."""
    site.config(collab_yaml(["alice"]) + "\n" + collab_yaml(["bob"], status="inactive"), dist_yaml())
    path = site.events([credit("alice", 1), credit("bob", 2), credit("alice", 3, at="2099-01-01T00:00:00+00:00")])
    code, out, err = site.run("import", str(path))
    assert code == 0  # nothing was skipped
    assert out.startswith("imported 3 new events from 3 lines (0 already recorded, 0 conflicting, 0 bad; "
                          "0 of the new late, 2 counting nothing)")
    assert f"{path}:2: collaborator bob is inactive: recorded, but it counts nothing" in err
    assert f"{path}:3: occurs at 2099-01-01T00:00:00+00:00, more than a year after now: recorded, but it counts " \
           "nothing" in err
    assert _scores(site) == {"alice": "1"}
    code, out, _ = site.run("credit", "bob", "--at", "2026-11-10T12:00:00+00:00")
    assert code == 0 and out.endswith("(recorded, but it counts nothing: collaborator bob is inactive)\n")
