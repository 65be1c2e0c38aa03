"""Service start-up: the heap is settled before the first request (in a subprocess: it changes
the interpreter's collector settings)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import gc, json, sys
from polaris.service._run import GC_THRESHOLDS, settle_heap
settle_heap(import_judge_sdk={sdk})
print(json.dumps({{"thresholds": list(gc.get_threshold()), "expected": list(GC_THRESHOLDS),
                  "frozen": gc.get_freeze_count(), "openai": "openai" in sys.modules}}))
"""


@pytest.mark.parametrize("sdk", [True, False])
def test_settle_heap_freezes_startup_objects_and_raises_thresholds(sdk):
    out = subprocess.run([sys.executable, "-c", _PROBE.format(sdk=sdk)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["thresholds"] == got["expected"] and got["expected"][0] > 700  # CPython's default is 700
    assert got["frozen"] > 10_000  # the start-up heap (modules, classes) is out of the collector's reach
    assert got["openai"] is sdk  # the judge SDK loads at start-up only when a judge will be called
