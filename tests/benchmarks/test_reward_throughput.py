"""The throughput benchmark still runs end to end (small sizes; its timings are not asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_and_reports_every_phase() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reward_throughput.py"), "--n", "12", "--latency", "0.3",
         "--capacity", "4", "--engines", "2", "--repeat", "2"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert re.search(r"^\[0\] fake judge alone: 12 calls in [\d.]+ s", text, re.M)
    runs = re.findall(r"^\[1\] service \(lean client\), run (\d)/2: 12 samples in [\d.]+ s; ideal ceil\(N/C\)\*L = 0\.90 s; "
                      r"ideal/wall = [\d.]+ \(first judge call at \+[\d.]+ s, 4 in flight at \+([\d.]+) s", text, re.M)
    assert [r[0] for r in runs] == ["1", "2"], text
    cpu = [float(x) for x in re.findall(r"service CPU ([\d.]+) ms/sample\)$", text, re.M)]
    assert len(cpu) == 2 and all(x > 0 for x in cpu), text  # the service did measurable work per sample
    assert re.search(r"^\[1\] median of 2 runs: ideal/wall = [\d.]+$", text, re.M)
    # the re-send of every sample joins its running judgment: exactly one judge call per sample
    assert "[2] re-sends: 24 requests for 12 samples -> 1.00 judge calls per unique sample" in text
    assert re.search(r"^\[3\] stock \.py reward_func: [\d.]+ s \(2 engines x \d+ threads", text, re.M)
    assert re.search(r"^speed-up: [\d.]+x \(goal >= 9x, median run\); service at [\d.]+ of ideal", text, re.M)


def test_benchmark_runs_with_the_aiohttp_client() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reward_throughput.py"), "--n", "8", "--latency", "0.2",
         "--capacity", "4", "--repeat", "1", "--client", "aiohttp", "--skip-stock"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^\[1\] service \(aiohttp client\), run 1/1: 8 samples in [\d.]+ s", out.stdout, re.M), out.stdout
    assert "[2] re-sends: 16 requests for 8 samples -> 1.00 judge calls per unique sample" in out.stdout
