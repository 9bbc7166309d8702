"""Benchmark 7: loading and validating a config of many collaborators (issue 15).

Sites with tens of thousands of collaborators (read from WordPress users) keep them in the config,
one `- {...}` a line as the example config writes them. The config is generated (id, name,
email, status, WordPress user, a coupon, a tracking id, a product each), then loaded in a fresh
process, as `siren-sync check` loads it (`load_config`: YAML, `${VAR}`s, every value validated,
every binding checked); its CPU and wall time and the process's peak RSS are measured (the
package's imports, which every command pays whatever its config, are timed apart). `--style block`
writes the same list in YAML block style, which the YAML parser reads (slower, for comparison).

    python bench/config_load.py [--collaborators 50000] [--style flow|block] [--repeat 3] [--profile FILE]

Targets: < 2 s and < 150 MB for 50,000 collaborators.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

HEAD = """\
site:
  url: https://shop.example.com
  timezone: Europe/Paris
  wordpress:
    user: ${SIREN_WP_USER:-admin}
    application_password: ${SIREN_WP_APP_PASSWORD:-abcd efgh ijkl}
store: {path: data/siren-sync.json}
collaborators:
"""
TAIL = """\
recipes: [builtin:monthly-sales-bonus]
distributors:
  weekly:
    name: Weekly Top Seller
    distributionResolver: topScoreWins
    units: EUR
    schedule: ["next monday"]
    startsAt: 2026-11-02
    engagementTypes: {boundCouponUsed: 1, collaboratorProductSold: 1, referredSiteVisit: 1}
    revenuePercentage: 5
"""
NAMES = ("Alice Martin", "Bruno Dupont", "Chloé Bernard", "David O Neil", "Émile Zola", "Fatima El Amrani")


def write(path: Path, collaborators: int, style: str) -> int:
    """The config file at `path`; returns its size in bytes."""
    lines = [HEAD]
    for i in range(collaborators):
        name = f"{NAMES[i % len(NAMES)]} {i}"
        status = "inactive" if i % 50 == 0 else "active"
        if style == "flow":
            lines.append(f"  - {{id: partner-{i}, name: {name}, email: partner{i}@example.com, status: {status}, "
                         f"wp_user_id: {i + 2}, coupons: [PARTNER{i}], tracking_ids: [p{i}], "
                         f"products: [{1000 + i}]}}\n")
        else:
            lines.append(f"  - id: partner-{i}\n    name: {name}\n    email: partner{i}@example.com\n"
                         f"    status: {status}\n    wp_user_id: {i + 2}\n    coupons: [PARTNER{i}]\n"
                         f"    tracking_ids: [p{i}]\n    products: [{1000 + i}]\n")
    lines.append(TAIL)
    path.write_text("".join(lines), encoding="utf-8")
    return path.stat().st_size


_CHILD = """
import json, sys, time
i0 = time.perf_counter()
from siren_sync.config import load_config
imports = time.perf_counter() - i0
t0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, {bench!r})
import _common
profile = {profile!r}
if profile:
    import cProfile
    prof = cProfile.Profile()
    prof.enable()
config = load_config({path!r}, env={{}})
if profile:
    prof.disable()
    prof.dump_stats(profile)
print(json.dumps({{"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "imports_s": imports,
                  "peak_rss_mb": _common.peak_rss_mb(), "collaborators": len(config.collaborators),
                  "distributors": len(config.distributors)}}))
"""


def load_once(path: Path, profile: str | None = None) -> dict:
    """Load `path` in a fresh process (the package's imports timed apart: every command pays them)."""
    code = _CHILD.format(path=str(path), bench=str(Path(__file__).resolve().parent), profile=profile)
    out = subprocess.run([_common.PYTHON, "-c", code], capture_output=True, text=True, cwd=_common.ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(collaborators: int = 50_000, style: str = "flow", repeat: int = 3, profile: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        path = Path(tmp) / "siren.yaml"
        size = write(path, collaborators, style)
        runs = [load_once(path, profile if i == 0 else None) for i in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    assert all(r["collaborators"] == collaborators for r in runs)
    wall, peak = best["wall_s"], max(r["peak_rss_mb"] for r in runs)
    return {"bench": "config_load", "collaborators": collaborators, "style": style, "bytes": size,
            "wall_s": round(wall, 3), "cpu_s": round(best["cpu_s"], 3),
            "wall_s_runs": [round(r["wall_s"], 3) for r in runs], "peak_rss_mb": round(peak, 1),
            "imports_s": round(best["imports_s"], 3),
            "targets": {"wall_s<2": wall < 2, "peak_rss_mb<150": peak < 150}}


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collaborators", "--size", type=int, default=50_000)
    p.add_argument("--style", choices=("flow", "block"), default="flow")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", help="write a cProfile of the first load to this file")
    a = p.parse_args(argv)
    r = main(a.collaborators, a.style, a.repeat, a.profile)
    t = r["targets"]
    _common.report("config load", [
        ("config", f"{r['collaborators']:,} collaborators, {r['style']} style, {r['bytes'] / 2**20:.1f} MiB"),
        ("load_config (fresh process)", f"{r['wall_s']} s wall, {r['cpu_s']} s CPU (fastest of {a.repeat}: "
                                        f"{r['wall_s_runs']}) [target < 2 s: {_common.verdict(t['wall_s<2'])}]"),
        ("importing siren_sync.config", f"{r['imports_s']} s (before the load, as every command)"),
        ("peak RSS", f"{r['peak_rss_mb']} MB [target < 150 MB: {_common.verdict(t['peak_rss_mb<150'])}]"),
    ], r)
    return r


if __name__ == "__main__":
    cli()
