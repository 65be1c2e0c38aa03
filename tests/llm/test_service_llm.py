"""The reward service and ``polaris score`` with their judge on a real small LLM (llama.cpp server).

Scores from the tiny base model mean nothing; the tests check that every endpoint answers with
every component, that a judge failure is reported as a failure (reward null, never 0), and that
a repeated request is served from the SQLite store without a new judge call.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from llm_helpers import demo_excerpts, write_recipe
from aiohttp import web

from polaris.service import create_app, load_service_config

pytestmark = [pytest.mark.llm, pytest.mark.slow]

DIMS = {"C1", "C2"}
#: Components every result carries (contracts.md: the deterministic reward terms).
COMPONENTS = {"words", "repetition", "blank", "length_penalty", "length_score_sl", "overlong", "think_penalty",
              "injection_flag"}
EOT = "<|im_end|>"


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^polaris_reward_{name}_total (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


async def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as s:
        async with s.post(url, json=body) as r:
            return r.status, await r.json(content_type=None)


async def _metrics(url: str) -> str:
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/metrics") as r:
            assert r.status == 200
            return await r.text()


def _check_result(r: dict[str, Any], item: dict[str, Any]) -> None:
    assert r["key"] == item["key"] and r["id"] == item["id"]
    comps = r["components"]
    assert COMPONENTS <= set(comps), f"missing components {COMPONENTS - set(comps)}"
    # excerpts of 160-200 words with the target set to their length: not blank, inside the length band
    assert abs(comps["words"] - item["target_words"]) <= 20 and comps["blank"] == 0 and comps["length_penalty"] == 0
    assert all(v is None or isinstance(v, (int, float, bool, str)) for v in comps.values())
    if r["failed"]:  # garbage from the tiny model: reported as a failure, reward null (never 0)
        assert r["reward"] is None and r["story_quality"] is None
        assert r["judge"]["failure_reason"] and r["flags"].get("judge_failure")
    else:
        assert isinstance(r["reward"], float) and 0.0 <= r["story_quality"] <= 1.0
        assert set(r["dimensions"]) == DIMS
        assert all(v == int(v) and 1 <= v <= 5 for v in r["dimensions"].values())


def test_service_scores_caches_and_serves_get_reward(tmp_path, llm_server):
    cfg = load_service_config(write_recipe(tmp_path / "recipe.yaml", llm_server))
    assert cfg.judge is not None and cfg.judge.backend.base_url == llm_server
    stories = demo_excerpts(2, skip=4)
    items = [{"key": f"k{i}", "id": s["id"], "judge_prompt": s["prompt"], "response": s["story"],
              "target_words": s["words"], "is_reference": False, "response_tokens": None, "think_tokens": None,
              "truncated": False} for i, s in enumerate(stories)]
    state = tmp_path / "state"

    async def go() -> dict[str, Any]:
        app = create_app(cfg, state)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        out: dict[str, Any] = {}
        try:
            out["first"] = await _post(url + "/v1/score", {"items": items})
            out["m1"] = await _metrics(url)
            out["again"] = await _post(url + "/v1/score", {"items": items})
            out["m2"] = await _metrics(url)
            prompts = [f"<|im_start|>user\n{s['prompt']}{EOT}\n<|im_start|>assistant\n" for s in stories]
            out["openrlhf"] = await _post(url + "/get_reward", {
                "query": [p + s["story"] + EOT for p, s in zip(prompts, stories)],
                "prompts": prompts,
                "labels": [json.dumps({"id": s["id"], "target_words": s["words"], "judge_prompt": s["prompt"]})
                           for s in stories]})
            out["m3"] = await _metrics(url)
        finally:
            await runner.cleanup()
        return out

    out = asyncio.run(go())
    status, first = out["first"]
    assert status == 200 and len(first["results"]) == 2
    for r, item in zip(first["results"], items):
        _check_result(r, item)
        assert r["cached"] is False
        assert r["failed"] or r["judge"]["latency_s"] > 0
    ok = [r for r in first["results"] if not r["failed"]]
    n_fail = 2 - len(ok)
    assert _metric(out["m1"], "judge_calls") == 2 and _metric(out["m1"], "cache_hits") == 0
    assert _metric(out["m1"], "judge_prompt_tokens") > sum(s["words"] for s in stories)
    assert _metric(out["m1"], "judge_completion_tokens") > 0
    latency = re.search(r"^polaris_reward_judge_latency_seconds_count (\d+)$", out["m1"], re.M)
    assert latency and int(latency.group(1)) == 2  # one latency observation per judgment

    # the same request again: successful judgments come from the store, failed ones are re-tried
    status, again = out["again"]
    assert status == 200
    for r, r0, item in zip(again["results"], first["results"], items):
        _check_result(r, item)
        if not r0["failed"]:
            assert r["cached"] is True
            assert r["reward"] == r0["reward"] and r["dimensions"] == r0["dimensions"]
    assert _metric(out["m2"], "cache_hits") == len(ok)
    assert _metric(out["m2"], "judge_calls") == 2 + n_fail
    # the tokens counter moves only with real judge calls
    if n_fail == 0:
        assert _metric(out["m2"], "judge_prompt_tokens") == _metric(out["m1"], "judge_prompt_tokens")

    # OpenRLHF's protocol on the same stories: same judgment keys, so the store answers again
    status, body = out["openrlhf"]
    ok_now = [r for r in again["results"] if not r["failed"]]
    if not ok_now:
        assert status == 503 and "retry" in body["error"]  # nothing to impute from: never a 0
    else:
        assert status == 200
        assert len(body["rewards"]) == 2 and body["scores"] == body["rewards"]
        assert all(isinstance(x, float) for x in body["rewards"])
        logs = body["extra_logs"]
        for key in ("reward", "story_quality", "judged", "judge_failed", "imputed", "cached", *COMPONENTS):
            assert key in logs and len(logs[key]) == 2, key
        for k, r in enumerate(again["results"]):
            if not r["failed"]:
                assert logs["cached"][k] == 1.0 and logs["judge_failed"][k] == 0.0
                assert body["rewards"][k] == pytest.approx(r["reward"])
        assert _metric(out["m3"], "cache_hits") >= _metric(out["m2"], "cache_hits") + len(ok_now)

    # the store holds exactly the successful judgments; the audit log one line per judge call
    db = sqlite3.connect(str(state / "judgments.sqlite"))
    try:
        stored = db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
    finally:
        db.close()
    assert stored == len({r["id"] for r in again["results"] if not r["failed"]} | {r["id"] for r in ok})
    audit = [json.loads(x) for x in (state / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(audit) == _metric(out["m3"], "judge_calls")


def _polaris() -> list[str]:
    exe = Path(sys.executable).with_name("polaris")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from polaris.cli.main import main; "
                                                                  "sys.exit(main())"]


def test_score_cli_writes_one_row_per_input_row(tmp_path, llm_server):
    recipe = write_recipe(tmp_path / "recipe.yaml", "http://127.0.0.1:9/v1")  # replaced by --judge-url
    stories = demo_excerpts(2, skip=6)
    rows = [
        # target from the prompt's length sentence (no target_words field)
        {"id": stories[0]["id"], "response": stories[0]["story"],
         "prompt": stories[0]["prompt"] + f" Your story should be approximately {stories[0]['words']} words long."},
        {"id": stories[1]["id"], "prompt": stories[1]["prompt"], "response": stories[1]["story"],
         "target_words": stories[1]["words"]},
    ]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    argv = [*_polaris(), "score", str(recipe), str(inp), "-o", str(out), "--judge-url", llm_server, "--no-progress"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [w["id"] for w in written] == [r["id"] for r in rows]
    n_failed = 0
    for w, s in zip(written, stories):
        assert w["target_words"] == s["words"]  # row 0: parsed from the prompt's length sentence
        assert abs(w["words"] - s["words"]) <= 20 and w["blank"] == 0 and w["length_penalty"] == 0
        for k in ("story_quality", "reward", "failed", "imputed", *COMPONENTS - {"words"}):
            assert k in w, k
        if w["failed"] and not w["imputed"]:
            n_failed += 1
            assert w["reward"] is None and w["error"].startswith("judge failed")
        elif not w["failed"]:
            assert isinstance(w["reward"], float) and {f"dim_{d}" for d in DIMS} <= set(w)
    assert proc.returncode == (1 if n_failed else 0), proc.stderr
    assert f"2 rows written to {out}" in proc.stderr

    # a rerun resumes: nothing left to do, no judge call, no duplicate rows
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert "0 rows written" in again.stderr and "2 already done" in again.stderr, again.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
