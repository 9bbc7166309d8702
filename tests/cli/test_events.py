"""`import` and `credit`: what is recorded, how a bad line is reported, and that they work while a
worker runs (they wait their turn at the write lock; the worker's own jobs are refused)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.support.cli import collab_yaml, credit, dist_yaml, sale


def test_import_twice_records_nothing_new(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.events([credit("alice", 3), sale("s1", "10.00")])
    assert site.run("import", str(path))[1].startswith("imported 2 new events")
    assert site.run("import", str(path))[1].startswith("imported 0 new events (2 already recorded")


def test_bad_import_lines_are_reported_and_the_rest_kept(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.root / "mixed.jsonl"
    path.write_text(json.dumps(credit("alice", 2)) + "\n{not json\n"
                    + json.dumps(credit("nobody", 1)) + "\n" + json.dumps(sale("s", "abc")) + "\n")
    code, out, err = site.run("import", str(path))
    assert code == 1
    assert "imported 1 new events" in out
    assert f"{path}:2: not JSON" in err and f"{path}:3: unknown collaborator 'nobody'" in err
    assert f"{path}:4: 'revenue' is not a number" in err


# -- beside a running worker ---------------------------------------------------------------------

HOLD = """
import sys, time
from siren_sync.app import open_app
from siren_sync.config import load_config
app = open_app(load_config(sys.argv[1]))
what = sys.argv[2]
if what == "write":
    tx = app.store.transaction()
    tx.put("cursors", "held", {{"by": "another process"}})
else:
    assert app.store.leader().acquire()
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
if what == "write":
    tx.commit()
app.close()
"""


@pytest.fixture(params=["tinydb", "postgres"])
def either_site(request, site):
    """The `site` fixture on a TinyDB store, and again on a PostgreSQL namespace of its own."""
    site.config(collab_yaml(["alice"]), dist_yaml())
    if request.param == "postgres":
        from tests.support.postgres import database_url, namespace_for

        path = site.root / "siren.yaml"
        store = f'store: {{url: "{database_url()}", namespace: "{namespace_for(site.root)}"}}'
        path.write_text(path.read_text().replace("store: {path: store/siren.json}", store))
    return site


def _hold(site, what: str, seconds: float) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLD.format(), str(site.root / "siren.yaml"), what, str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "holding", child.stderr.read()
    return child


def test_credit_waits_its_turn_while_another_process_writes(either_site):
    site = either_site
    holder = _hold(site, "write", 1.5)
    started = time.monotonic()
    code, out, err = site.run("credit", "alice", "--at", "2026-11-05T12:00:00+00:00")
    assert code == 0 and out.startswith("credited alice"), err
    assert time.monotonic() - started >= 0.8  # it waited for the other transaction
    assert holder.wait(30) == 0
    [standing] = json.loads(site.run("standings", "--json")[1])["standings"]
    assert standing["scores"] == [{"collaborator": "alice", "score": "1", "projected": "0"}]


def test_a_worker_leading_lets_commands_record_but_not_do_its_own_jobs(either_site):
    site = either_site
    worker = _hold(site, "lead", 30)
    try:
        code, out, err = site.run("credit", "alice", "--at", "2026-11-05T12:00:00+00:00")
        assert code == 0 and out.startswith("credited alice"), err
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
