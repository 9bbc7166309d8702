"""`store copy` (TinyDB to PostgreSQL and back: every command reads the same) and `store adopt`'s
usage errors (the adoption itself is in tests/test_adopt.py)."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

from tests.support.cli import collab_yaml, credit, dist_yaml, distribute_json, sale
from tests.support.postgres import database_url, namespace_for
from tests.support.programs import DEALS, deal, json_of

VIEWS = [("history", "--json"), ("payouts",), ("payouts", "--status", "paid"), ("standings", "--json"),
         ("explain", "alice"), ("history",)]


def _use_store(site, line: str, was: str = "store: {path: store/siren.json}") -> None:
    path = site.root / "siren.yaml"
    assert was in path.read_text()
    path.write_text(path.read_text().replace(was, line))


def _views(site) -> list[str]:
    """What the views print; `payouts` without its first line (`payouts as of <now>`, to the second:
    two reads a second apart differ there and nowhere else)."""
    outputs = []
    for argv in VIEWS:
        code, out, err = site.run(*argv)
        assert code == 0, (argv, err)
        outputs.append(out.split("\n", 1)[1] if argv[0] == "payouts" and out.startswith("payouts as of ") else out)
    return outputs


def test_store_copy_to_postgresql_and_back_reads_the_same(site):
    url, namespace = database_url(), namespace_for(site.root)
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100))
    site.run("import", str(site.events([credit("alice", 3), credit("bob", 1), sale("s1", "40.00"),
                                        credit("bob", 2, at="2026-12-03T12:00:00+00:00"),
                                        sale("s2", "9.99", at="2026-12-03T12:00:00+00:00")])))
    distribute_json(site)
    assert site.run("payouts", "--csv", str(site.root / "paid.csv"), "--mark-paid", "--collaborator", "alice")[0] == 0
    before = _views(site)
    assert json.loads(before[0])["distributions"] and "paid" in before[2]

    code, out, err = site.run("store", "copy", "--to", url, "--namespace", namespace)
    assert code == 0, err
    assert out.startswith("copied ") and "(5 events)" in out and f"(namespace {namespace})" in out
    _use_store(site, f'store: {{url: "{url}", namespace: "{namespace}"}}')
    assert _views(site) == before

    code, _, err = site.run("store", "copy", "--to", str(site.root / "back" / "siren.json"))
    assert code == 0, err
    _use_store(site, "store: {path: back/siren.json}", was=f'store: {{url: "{url}", namespace: "{namespace}"}}')
    assert _views(site) == before


def test_store_copy_goes_into_an_empty_store_only(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1)])))
    target = site.root / "other" / "siren.json"
    assert site.run("store", "copy", "--to", str(target))[0] == 0
    code, _, err = site.run("store", "copy", "--to", str(target))
    assert code == 1 and "is not empty: a copy goes into an empty store only (nothing was written)" in err


def test_store_copy_takes_a_database_url_or_a_path(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("store", "copy", "--to", "mysql://app:s3cret@db/site")
    assert code == 2 and "expected a postgres:// or postgresql:// URL, got mysql://" in err
    assert "s3cret" not in err


def test_store_adopt_needs_the_wordpress_application_password(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("store", "adopt")
    assert code == 2 and "store adopt reads the site's records: it needs site.wordpress.user" in err


def test_store_adopt_with_programs_alone_rewards_only_the_sales_paid_from_then_on(site):
    """Programs leave no record on the site: before, `store adopt` said there was nothing to adopt,
    and the empty store rewarded (and `fulfill` would pay) again every sale it read."""
    site.config(collab_yaml(["alice", "bob"]), f"programs:\n  {DEALS}\n")
    deal(site, "crm:deal:1", "alice", "100.00", datetime(2026, 11, 2, tzinfo=UTC))
    assert [r["id"] for r in json_of(site, "history")["rewards"]] == ["deals:crm:deal:1:alice"]
    shutil.rmtree(site.root / "store")  # the disk is lost
    code, out, err = site.run("store", "adopt")
    assert code == 0, err
    assert out.startswith("no distributor: no distribution to adopt; programs reward only the sales paid from ")
    deal(site, "crm:deal:1", "alice", "100.00", datetime(2026, 11, 2, tzinfo=UTC))  # read again: not rewarded
    deal(site, "crm:deal:2", "bob", "40.00")  # paid now
    assert [r["id"] for r in json_of(site, "history")["rewards"]] == ["deals:crm:deal:2:bob"]
    code, _, err = site.run("store", "adopt")
    assert code == 1 and "already holds program rewards: adopt only takes over in the store that lost them" in err
