"""`import` and `credit`: what is recorded, and how a bad line is reported."""
from __future__ import annotations

import json

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
