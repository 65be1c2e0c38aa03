"""A service subprocess killed with SIGKILL mid-batch, the CLI commands, and offline scoring."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner
from judge_helpers import judge_cfg, service_cfg, story_words
from openai_server import FakeOpenAIServer

SERVE = "from polaris.cli.serve_reward import command; command()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(run_dir: Path, state: Path, port: int, extra: list[str] | None = None, env: dict | None = None):
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(run_dir), "--port", str(port), "--state-dir", str(state), *(extra or [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("service did not start")


def _stored(state: Path) -> int:
    db = sqlite3.connect(str(state / "judgments.sqlite"))
    try:
        return db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
    finally:
        db.close()


async def _send_all(url: str, items: list[dict]) -> list[dict]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
        async def one(it):
            async with s.post(url + "/v1/score", json={"items": [it]}) as r:
                return (await r.json())["results"][0]
        return list(await asyncio.gather(*(one(it) for it in items)))


@pytest.mark.slow
def test_kill_9_mid_batch_does_not_repay_finished_judgments(tmp_path):
    items = [{"key": f"k{i}", "id": f"s{i}", "judge_prompt": "Write a story.", "target_words": 300,
              "response": "<think>x</think>\n" + story_words(300, i)} for i in range(24)]
    with FakeOpenAIServer(latency_s=0.4, capacity=4).running() as srv:
        service_cfg(judge_cfg(srv.base_url)).write(tmp_path)
        state = tmp_path / "state"
        port = _free_port()
        proc = _start(tmp_path, state, port)
        url = f"http://127.0.0.1:{port}"

        async def fire_and_kill():
            task = asyncio.ensure_future(_send_all(url, items))
            while not state.joinpath("judgments.sqlite").exists() or _stored(state) < 8:
                await asyncio.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            try:
                await task
            except Exception:
                pass  # the connections die with the process

        asyncio.run(fire_and_kill())
        proc.wait(10)
        finished = _stored(state)
        assert 8 <= finished < len(items)
        calls_before = srv.calls
        proc2 = _start(tmp_path, state, port)
        try:
            results = asyncio.run(_send_all(url, items))
        finally:
            proc2.send_signal(signal.SIGTERM)
            proc2.wait(20)
        new_calls = srv.calls - calls_before
        assert new_calls == len(items) - finished  # finished judgments came from the store
        assert sum(r["cached"] for r in results) == finished
        assert all(not r["failed"] and r["reward"] is not None for r in results)
        assert proc2.returncode == 0  # graceful shutdown on SIGTERM


def test_serve_reward_refuses_public_bind_without_token(tmp_path):
    service_cfg(judge_cfg("http://127.0.0.1:9/v1")).write(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "POLARIS_REWARD_TOKEN"}
    p = subprocess.run([sys.executable, "-c", SERVE, str(tmp_path), "--host", "0.0.0.0", "--port", str(_free_port())],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2
    assert "POLARIS_REWARD_TOKEN" in p.stderr and "Traceback" not in p.stderr


def test_score_cli_bad_rows_resume_and_no_judge(tmp_path):
    from polaris.cli.score import command

    service_cfg(None).write(tmp_path)
    inp = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "prompt": "Write a story. Aim for about 300 words.",
                    "response": "<think>x</think>" + story_words(300, 1)}),
        "{broken json",
        json.dumps({"id": "b", "prompt": "p"}),
        json.dumps({"id": "c", "prompt": "p", "response": "<think>x</think>" + story_words(200, 2), "target_words": 250}),
        json.dumps({"id": "a", "prompt": "p", "response": "dup"}),
    ]
    inp.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(command, [str(tmp_path), str(inp), "-o", str(out), "--judge", "none", "--no-progress"])
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 5  # one output row per input row
    assert [x["id"] for x in rows] == ["a", "line:2", "b", "c", "line:5"]
    assert rows[0]["target_words"] == 300 and rows[0]["story_quality"] is None and rows[0]["failed"] is False
    assert rows[3]["target_words"] == 250 and rows[3]["words"] > 150
    assert ":2:" in rows[1]["error"] and "response" in rows[2]["error"] and "duplicate" in rows[4]["error"]
    from polaris.service._offline import ROW_FIELDS

    for row in rows:  # good and bad rows alike open with every listed field
        assert tuple(row)[:len(ROW_FIELDS)] == ROW_FIELDS
    assert rows[1]["reward"] is None and rows[1]["story_quality"] is None and rows[1]["failed"] is True
    assert r.exit_code == 1 and "bad row" in r.output
    # resume: nothing is redone
    r2 = CliRunner().invoke(command, [str(tmp_path), str(inp), "-o", str(out), "--judge", "none", "--no-progress"])
    assert len(out.read_text().splitlines()) == 5 and "0 rows written" in r2.output


def test_score_with_judge_imputes_and_resumes(tmp_path):
    from polaris.service._offline import score_file

    inp = tmp_path / "in.jsonl"
    rows = [{"id": f"r{i}", "prompt": "Write a story of about 300 words.",
             "response": "<think>x</think>" + story_words(300, i), "target_words": 300} for i in range(6)]
    inp.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    with FakeOpenAIServer().running() as srv:
        srv.script(["400"])  # the first judgment fails for good → imputed with the chunk mean
        cfg = service_cfg(judge_cfg(srv.base_url, concurrency=1))
        s = score_file(cfg, inp, out, show_progress=False)
        got = [json.loads(x) for x in out.read_text().splitlines()]
        assert s.imputed == 1 and len(got) == 6
        imputed = [g for g in got if g["imputed"]]
        assert len(imputed) == 1 and imputed[0]["failed"] is True and imputed[0]["reward"] is not None
        others = [g["story_quality"] for g in got if not g["imputed"]]
        # the judge gave no score: story_quality stays null; the reward used the chunk mean
        assert imputed[0]["story_quality"] is None
        assert imputed[0]["imputed_story_quality"] == pytest.approx(sum(others) / len(others))
        assert all(g["imputed_story_quality"] is None for g in got if not g["imputed"])
        assert all(f"dim_{d}" in got[1] for d in ("P1", "N10"))
        calls = srv.calls
        s2 = score_file(cfg, inp, out, show_progress=False)
        assert s2.skipped_done == 6 and srv.calls == calls
