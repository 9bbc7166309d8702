#!/usr/bin/env python3
"""Generate tests/fixtures/vectors/sanitize_text_field.json with the real PHP and WordPress.

WooCommerce stores an order's `customer_user_agent` through WordPress's `sanitize_text_field`;
`siren_sync.sources.php.sanitize_text_field` reproduces it so a logged agent and a stored one give
the same visitor digest. Every case (real agents, the edges of each step of `_sanitize_text_fields`,
and seeded random mixes of its tokens) goes to one `php tools/php_sanitize.php` process, which loads
WordPress's own `formatting.php` and `kses.php`, as hex (a case may be invalid UTF-8).
`tests/sources/test_php.py` replays the file without PHP.

Usage: python tools/php_sanitize_vectors.py [--php php] [--wp-includes /usr/share/wordpress/wp-includes]
Needs php-cli and WordPress (Debian: apt-get install php-cli; `apt-get download wordpress` and
`dpkg-deb -x` it anywhere is enough: only its wp-includes folder is read).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHP_SCRIPT = ROOT / "tools" / "php_sanitize.php"
OUT = ROOT / "tests" / "fixtures" / "vectors" / "sanitize_text_field.json"

REAL = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    'Mozilla/5.0 (compatible; "quoted" agent)', "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Café/1.0",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; ru-ru; Ф-1) AppleWebKit/534.30", "Opera/9.80%20(Windows NT 6.1)",
]
EDGES = [
    "", " ", "  a  ", "a\tb", "a\r\nb", "a  b", "\x0ba\x0b", "\x0ca\x0c", "\0a\0", "a\u00a0b", "a\u2003b",
    "a\u3000b", "\u00a0a\u00a0", "a\x85b", "a\x1cb", "%41", "a%41b", "a %41 b", "%4", "%%4141", "%2541",
    "%4%3141 x", "100%", "%ZZ", "a%20%20b", "%e9t\u00e9", "a < b", "a<b", "a <b> c", "a < b > c", "<", ">",
    "a <script>x</script> b", "a <SCRIPT type=x>y</ScRiPt> b", "<style>s</style>t", "<script>no end",
    "a <!-- c --> b", "a <!-- c > d --> e", "<!DOCTYPE html>x", "<?php echo 1; ?>x", "<?xml v?>x", "a <? b",
    "a <b c='>' d> e", 'a <b c=">"> e', "a <<b>> c", "a <a<b>c>d", "x <\ny> z", "a <\n b", "a & b",
    "a < &amp; &lt; &apos; &nbsp; &bogus; &#0; &#65; &#065; &#x41; &#x0; &#00; &#127; &#xD800; ' \"",
    "a <! b > c", "a <!-- b", "a \\ b", "a\\\"b", "<a>\u00e9<b>", "%3Cscript%3E", "<%41>",
]
TOKENS = ["<", ">", "<!--", "-->", "<?", "?>", "<?xml", "<!DOCTYPE", "<script>", "</script>", "<style>",
          "</style>", '"', "'", "\\", "&", "&amp;", "&apos;", "&#0;", "&#65;", "&#x41;", "&#x0;", "&#127;",
          "&nbsp;", "&bogus;", "&#99999999;", "%41", "%4", "%", "%2541", "%e9", " ", "  ", "\t", "\n", "\r",
          "\x0b", "\x0c", "\0", "\u00a0", "\u2003", "\u00e9", "a", "Mozilla/5.0", "(", ")", "-", "!", "?", "l",
          "x", "m", "e", "doctype", "--", "<\n", "\ud800"]
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]


def cases(count: int, seed: int) -> list[bytes]:
    """Every case as bytes: the hand-picked, then random mixes (some with invalid UTF-8)."""
    rng = random.Random(seed)
    out = [t.encode() for t in REAL + EDGES] + [b"Mozilla/5.0 " + b for b in BAD_BYTES]
    for _ in range(count):
        picked = [rng.choice(TOKENS) for _ in range(rng.randint(1, 12))]
        text = "".join(picked).encode("utf-8", "surrogatepass")
        if rng.random() < 0.05:
            text += rng.choice(BAD_BYTES)
        out.append(text)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--php", default="php")
    ap.add_argument("--wp-includes", default="/usr/share/wordpress/wp-includes")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    inputs = cases(args.count, args.seed)
    proc = subprocess.run([args.php, str(PHP_SCRIPT), args.wp_includes], input=json.dumps([b.hex() for b in inputs]),
                          capture_output=True, text=True, check=True)
    answers = json.loads(proc.stdout)
    rows = [{"in": b.hex(), "out": a["once"], "twice": a["twice"]} for b, a in zip(inputs, answers, strict=True)]
    version = subprocess.run([args.php, "-r", "echo PHP_VERSION;"], capture_output=True, text=True, check=True)
    wordpress = re.search(r"\$wp_version = '([^']+)'", (Path(args.wp_includes) / "version.php").read_text())
    doc = {"php": version.stdout, "wordpress": wordpress.group(1) if wordpress else "?", "count": len(rows)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("{\n")
        for key in doc:
            fh.write(f"  {json.dumps(key)}: {json.dumps(doc[key])},\n")
        fh.write('  "cases": [\n')
        fh.write(",\n".join("    " + json.dumps(r) for r in rows))
        fh.write("\n  ]\n}\n")
    print(f"{len(rows)} cases -> {args.out}")


if __name__ == "__main__":
    main()
