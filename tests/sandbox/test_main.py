"""sandbox/__main__.py: `python -m siren_sync.sandbox` prints its URL and keys, then serves."""
from __future__ import annotations

import json
import subprocess
import sys

import requests


def test_command_line_prints_url_and_credentials():
    proc = subprocess.Popen([sys.executable, "-m", "siren_sync.sandbox", "--port", "0", "--seed", "1",
                             "--days", "2", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        assert info["url"].startswith("http://127.0.0.1:")
        assert info["wc_key"].startswith("ck_") and info["wc_secret"].startswith("cs_")
        r = requests.get(info["url"] + "/wp-json/", timeout=10)
        assert r.json()["timezone_string"] == "America/New_York"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
