"""`polaris preflight` end to end against the fault-injection judge over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

from openai_server import FakeOpenAIServer

from polaris.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_preflight_judges_references_and_forecasts_cost(tmp_path, capsys):
    with FakeOpenAIServer(score_mode="random").running() as srv:
        # One in four calls fails for good (400: not retried): the failure rate must say so.
        srv.script(["400"] + ["ok"] * 3)
        rc = main(["preflight", str(ROOT / "recipes" / "demo.yaml"), "-n", "4",
                   "--judge-url", f"http://127.0.0.1:{srv.port}/v1", "--judge-model", "fake"])
        calls = srv.calls
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "judged: 4 references" in out
    assert re.search(r"failure rate: 25\.0%", out), out
    assert re.search(r"latency s: p50 \d", out)
    assert "reference SQ: mean" in out
    assert "forecast" in out.lower()
    assert calls == 4  # no retry on a 400, one call per item otherwise


def test_preflight_refuses_cluster_data_clearly(capsys):
    rc = main(["preflight", str(ROOT / "recipes" / "polaris9b.yaml"), "-n", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and "local training file" in err
