"""Commands run beside another process on the same store: a child process that holds the store's
write lock (a transaction in progress) or its lead (a running worker), and the `site` fixture's
config moved onto a PostgreSQL namespace of its own, so a test runs on either backend."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

HOLD = """
import sys, time
from siren_sync.app import open_app
from siren_sync.config import load_config
app = open_app(load_config(sys.argv[1]))
what = sys.argv[2]
if what == "write":
    tx = app.store.transaction()
    tx.put("cursors", "held", {"by": "another process"})
else:
    assert app.store.leader().acquire()
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
if what == "write":
    tx.commit()
app.close()
"""


def hold(site: Any, what: str, seconds: float) -> subprocess.Popen:
    """A child process holding the site's store (`what`: "write" or "lead") for `seconds`."""
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(site.root / "siren.yaml"), what, str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().strip() == "holding", child.stderr.read()
    return child


def on_backend(site: Any, backend: str) -> None:
    """Move the site's config (written, nothing stored yet) to `backend`: "tinydb" keeps it as it is,
    "postgres" gives it a namespace of its own on the test server."""
    if backend == "tinydb":
        return
    from tests.support.postgres import database_url, namespace_for

    path = site.root / "siren.yaml"
    store = f'store: {{url: "{database_url()}", namespace: "{namespace_for(site.root)}"}}'
    text = path.read_text()
    assert "store: {path: store/siren.json}" in text
    path.write_text(text.replace("store: {path: store/siren.json}", store))
