"""What PHP and WordPress make of what a browser sent (siren_sync/sources/php.py): `$_GET` of a query
string and `sanitize_text_field` of a user agent, pinned by vectors made with the real PHP and
WordPress (tools/php_sanitize_vectors.py; CI has no PHP and only reads the file)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from siren_sync.sources.php import query_vars, sanitize_text_field

VECTORS = json.loads((Path(__file__).parents[1] / "fixtures" / "vectors" / "sanitize_text_field.json").read_text())
CASES = [(bytes.fromhex(c["in"]), bytes.fromhex(c["out"])) for c in VECTORS["cases"]]


def test_the_vectors_cover_every_step():
    inputs = b"".join(raw for raw, _ in CASES)
    for token in (b"<script>", b"<!--", b"<?xml", b"<!DOCTYPE", b"&#0;", b"%41", b"\t", b"\xc2\xa0", b"\xff"):
        assert token in inputs
    assert len(CASES) >= 3000


def test_every_vector_sanitizes_as_wordpress_does():
    wrong = [(raw, want, got) for raw, want in CASES
             if (got := sanitize_text_field(raw).encode("utf-8")) != want]
    assert wrong == []


def test_a_sanitized_text_is_its_own_sanitized_text():
    """A stored agent (already sanitized by WordPress) and the raw logged one give the same text."""
    for raw, want in CASES:
        once = sanitize_text_field(raw)
        assert sanitize_text_field(once) == once == want.decode("utf-8")


@pytest.mark.parametrize(("agent", "stored"), [
    ("Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0"),
    (" Mozilla/5.0\t(X11)\r\n  Firefox ", "Mozilla/5.0 (X11) Firefox"),
    ("Mozilla/5.0\u00a0(X11)\u2003Firefox", "Mozilla/5.0\u00a0(X11)\u2003Firefox"),  # str.split() took these
    ("Mozilla/5.0\x0b(X11)\x0c", "Mozilla/5.0\x0b(X11)\x0c"),
    ("Mozilla/5.0%20(X11) %41Firefox", "Mozilla/5.0(X11) Firefox"),
    ("Mozilla/5.0 %%4141 x", "Mozilla/5.0 x"),  # removed again while one is left
    ("Mozilla/5.0 <b>(X11)</b> <script>alert(1)</script>ok", "Mozilla/5.0 (X11) ok"),
    ("Mozilla/5.0 (X11) a < b & c", "Mozilla/5.0 (X11) a &lt; b &amp; c"),
    ('Mozilla/5.0 ("quoted"; \\ slash)', 'Mozilla/5.0 ("quoted"; \\ slash)'),
    ("Mozilla/5.0 (Macintosh) Caf\u00e9/1.0", "Mozilla/5.0 (Macintosh) Caf\u00e9/1.0"),
])
def test_an_agent_is_stored_as_woocommerce_stores_it(agent: str, stored: str):
    assert sanitize_text_field(agent) == stored
    assert sanitize_text_field(agent.encode("utf-8")) == stored


def test_an_agent_that_is_not_utf8_is_stored_empty():
    assert sanitize_text_field(b"Mozilla/5.0 (X11) Caf\xe9") == ""
    assert sanitize_text_field("Mozilla/5.0 \udce9") == ""  # a byte kept by surrogateescape, or a lone surrogate


@pytest.mark.parametrize(("query", "expected"), [
    ("ref=alice", {"ref": "alice"}),
    ("ref=alice&ref=bruno", {"ref": "bruno"}),  # PHP keeps the last
    ("ref=alice&ref=", {"ref": ""}),
    ("ref=alice&ref", {"ref": ""}),
    ("ref=alice&ref[]=bruno", {}),  # an array: $_GET['ref'] is no text
    ("ref[]=bruno&ref=alice", {"ref": "alice"}),
    ("%20ref=alice&r.f=1&a+b=2", {"ref": "alice", "r_f": "1", "a_b": "2"}),
    ("ref=ali%63e+x&&=z&p=12", {"ref": "alice x", "p": "12"}),
    ("ref[=x", {"ref_": "x"}),
    ("", {}),
])
def test_query_vars_are_what_php_puts_in_GET(query: str, expected: dict[str, str]):
    """Each expectation is what PHP 8.2's parse_str (the same parser as $_GET) gave."""
    assert query_vars(query) == expected
