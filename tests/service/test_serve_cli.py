"""`polaris serve-reward` and `polaris score` as a user runs them: overrides, draining, progress."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from judge_helpers import judge_cfg, service_cfg, story_words
from openai_server import FakeOpenAIServer
from test_crash_and_cli import _free_port, _send_all, _start, _stored

ROOT = Path(__file__).resolve().parents[2]


def _items(n: int, offset: int = 0) -> list[dict]:
    return [{"key": f"k{i}", "id": f"s{i}", "judge_prompt": "Write a story.", "target_words": 300,
             "response": "<think>x</think>\n" + story_words(300, offset + i)} for i in range(n)]


def test_sigterm_finishes_the_requests_in_flight_then_exits_0(tmp_path):
    with FakeOpenAIServer(latency_s=1.5).running() as srv:
        service_cfg(judge_cfg(srv.base_url)).write(tmp_path)
        state, port = tmp_path / "state", _free_port()
        proc = _start(tmp_path, state, port)

        async def fire_then_term():
            task = asyncio.ensure_future(_send_all(f"http://127.0.0.1:{port}", _items(4)))
            deadline = time.monotonic() + 20
            while srv.in_flight < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert srv.in_flight == 4  # every judgment is on the wire when the signal comes
            proc.send_signal(signal.SIGTERM)
            return await task

        results = asyncio.run(fire_then_term())
        assert proc.wait(30) == 0
    assert all(not r["failed"] and r["reward"] is not None for r in results)
    assert _stored(state) == 4  # and each was committed before the process ended


def test_serve_reward_from_a_recipe_with_judge_overrides(tmp_path):
    with FakeOpenAIServer(latency_s=0.3).running() as srv:
        port = _free_port()
        proc = _start(ROOT / "recipes" / "demo.yaml", tmp_path / "state", port,
                      ["--judge-url", srv.base_url, "--judge-model", "override-model", "--concurrency", "2"])
        try:
            results = asyncio.run(_send_all(f"http://127.0.0.1:{port}", _items(6)))

            async def health():
                async with aiohttp.ClientSession() as s:
                    async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                        return await r.json()

            h = asyncio.run(health())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    assert all(not r["failed"] for r in results)
    assert {r["model"] for r in srv.requests} == {"override-model"}  # --judge-model reached the endpoint
    assert srv.max_in_flight == 2  # --concurrency replaced the recipe's 4
    assert h["judge"].startswith(f"override-model@{srv.base_url}")


def test_score_draws_progress_and_honours_concurrency(tmp_path):
    rows = [{"id": f"r{i}", "prompt": "Write a story.", "response": story_words(200, i), "target_words": 200}
            for i in range(6)]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeOpenAIServer(latency_s=0.2).running() as srv:
        p = subprocess.run([sys.executable, "-m", "polaris.cli.main", "score", str(ROOT / "recipes" / "demo.yaml"),
                            str(inp), "-o", str(out), "--judge-url", srv.base_url, "--judge-model", "fake",
                            "--concurrency", "3"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "COLUMNS": "100"})
        peak = srv.max_in_flight
    assert p.returncode == 0, p.stderr
    assert "scoring" in p.stderr and "6/6" in p.stderr  # the bar, on stderr
    assert len(out.read_text().splitlines()) == 6 and peak == 3


def test_serve_reward_judge_none_says_so_and_never_answers_zero(tmp_path):
    service_cfg(judge_cfg("http://127.0.0.1:9/v1")).write(tmp_path)
    port = _free_port()
    proc = _start(tmp_path, tmp_path / "state", port, ["--judge", "none"])
    templated = "<|im_start|>user\nWrite a story.<|im_end|>\n<|im_start|>assistant\n<think>\n"
    body = {"query": [templated + "x\n</think>\n" + story_words(300, 1) + "<|im_end|>"], "prompts": [templated],
            "labels": [json.dumps({"id": "s1", "target_words": 300})]}

    async def post():
        async with aiohttp.ClientSession() as s:
            async with s.post(f"http://127.0.0.1:{port}/get_reward", json=body) as r:
                return r.status, await r.json()

    try:
        status, answer = asyncio.run(post())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    banner = proc.stdout.read().decode()
    assert status == 422 and "no judge" in answer["error"]
    assert "no judge (--judge none)" in banner
