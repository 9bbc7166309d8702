"""Benchmark 5: the worker's idle cost. `siren-sync run` with nothing to do, as a real process.

The config has no enabled source (and no publishing credentials), one monthly distributor whose
period is far from its trigger. The process is started, left to settle (`--warmup` s), then its CPU
(utime + stime from /proc/<pid>/stat) is sampled over `--seconds` and extrapolated to an hour.
SIGTERM then stops it; it must exit 0.

    python bench/idle.py [--seconds 60] [--warmup 5]

Target: < 5 CPU seconds per hour.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datetime import UTC

import _common  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """utime + stime of `pid` in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(seconds: float = 60.0, warmup: float = 5.0) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        # starts = today (UTC), so the open period's trigger is weeks away whatever the date is
        from datetime import datetime

        today = datetime.now(UTC).date().isoformat()
        path = _common.write_config(Path(tmp), timezone="UTC", starts=today, every="5m")
        argv = [_common.PYTHON, "-m", "siren_sync", "--config", str(path), "--log-format", "json", "run"]
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp)
        try:
            time.sleep(warmup)
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
            startup_cpu = _cpu(proc.pid)
            w0, c0 = time.monotonic(), startup_cpu
            time.sleep(seconds)
            wall, cpu = time.monotonic() - w0, _cpu(proc.pid) - c0
            rss = _rss_mb(proc.pid)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            stop_s = time.monotonic() - t0 - warmup - wall
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err = proc.stderr.read()
    per_hour = cpu / wall * 3600
    return {"bench": "idle", "seconds": round(wall, 1), "cpu_s": round(cpu, 3), "cpu_s_per_hour": round(per_hour, 2),
            "cpu_percent": round(cpu / wall * 100, 3), "startup_cpu_s": round(startup_cpu, 2),
            "peak_rss_mb": round(rss, 1), "exit_code": code, "stop_s": round(stop_s, 2),
            "log_lines": len(err.splitlines()), "log_messages": _messages(err),
            "targets": {"cpu_s_per_hour<5": per_hour < 5, "exit_code==0": code == 0}}


def _messages(stderr: str) -> list[str]:
    """The worker's log messages (`--log-format json`: every stderr line is one JSON object)."""
    return [json.loads(line)["message"] for line in stderr.splitlines() if line.strip()]


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", "--size", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=5.0)
    a = p.parse_args(argv)
    r = main(a.seconds, a.warmup)
    t = r["targets"]
    _common.report("worker idle cost", [
        ("sampled", f"{r['seconds']} s of `siren-sync run` after {a.warmup} s warm-up "
                    f"(start-up CPU {r['startup_cpu_s']} s)"),
        ("idle CPU", f"{r['cpu_s']} s = {r['cpu_percent']}% of a core"),
        ("per hour", f"{r['cpu_s_per_hour']} CPU s/h [target < 5: {_common.verdict(t['cpu_s_per_hour<5'])}]"),
        ("peak RSS", f"{r['peak_rss_mb']} MB"),
        ("SIGTERM", f"exit {r['exit_code']} after {r['stop_s']} s [{_common.verdict(t['exit_code==0'])}]"),
    ], r)
    return r


if __name__ == "__main__":
    cli()
