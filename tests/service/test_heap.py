"""The service's collector: no young collections inside a burst, a full one once it is idle."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
import weakref

import aiohttp
from judge_helpers import judge_cfg, service_cfg, story_words
from openai_server import FakeOpenAIServer
from service_helpers import start_app

from polaris.service import create_app
from polaris.service._app import COLLECTOR_KEY
from polaris.service._heap import IdleCollector

TEMPLATED = "<|im_start|>user\nWrite a story about a harbour.<|im_end|>\n<|im_start|>assistant\n<think>\n"


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def _garbage_cycles(n: int) -> weakref.ref:
    nodes = [_Node() for _ in range(n)]
    probe = weakref.ref(nodes[0])
    del nodes
    return probe


def test_idle_collector_collects_when_quiet_and_not_when_busy():
    async def main() -> tuple[bool, bool, bool, int]:
        busy = [True]
        c = IdleCollector(lambda: busy[0], delay_s=0.05, min_young=1_000)
        gc.disable()  # only the collector under test may collect in this window
        try:
            probe = _garbage_cycles(5_000)
            c.quiet()
            await asyncio.sleep(0.15)
            kept_while_busy = probe() is not None and c.collections == 0
            busy[0] = False
            c.quiet()
            c.quiet()  # armed once, not twice
            await asyncio.sleep(0.15)
            freed = probe() is None
            gc.collect()
            c.quiet()  # under min_young objects since the last collection: nothing to do
            await asyncio.sleep(0.15)
            return kept_while_busy, freed, c.collections == 1, c.collections
        finally:
            gc.enable()

    kept_while_busy, freed, once, n = asyncio.run(main())
    assert kept_while_busy and freed and once, n


def test_backstop_collects_under_load_that_never_pauses():
    busy_always = lambda: True  # noqa: E731
    c = IdleCollector(busy_always, backstop_s=0.05, backstop_young=1_000)
    gc.disable()
    try:
        probe = _garbage_cycles(5_000)
        c.tick()  # too soon after start
        early = probe() is not None and c.backstop_collections == 0
        time.sleep(0.06)
        c.tick()
        freed = probe() is None and c.backstop_collections == 1
        c.tick()  # just collected: not again
        again = c.backstop_collections == 1
    finally:
        gc.enable()
    assert early and freed and again


def test_service_collects_after_a_burst_not_during_it(tmp_path):
    """A request held by a slow judge: no idle collection while it is in flight; one after it."""

    async def main() -> tuple[float, float, float]:
        srv = await FakeOpenAIServer(latency_s=0.8).start()
        app = create_app(service_cfg(judge_cfg(srv.base_url)), tmp_path / "state")
        runner, url = await start_app(app)
        app[COLLECTOR_KEY].delay_s = 0.1

        async def metric(s: aiohttp.ClientSession) -> float:
            async with s.get(url + "/metrics") as r:
                text = await r.text()
            return float(next(ln.split()[1] for ln in text.splitlines()
                              if ln.startswith("polaris_reward_idle_gc_collections_total ")))

        body = {"query": [TEMPLATED + "plan\n</think>\n" + story_words(250, 3) + "<|im_end|>"], "prompts": [TEMPLATED],
                "labels": [json.dumps({"id": "a", "target_words": 250})]}
        try:
            async with aiohttp.ClientSession() as s:
                _garbage_cycles(20_000)
                before = await metric(s)
                task = asyncio.ensure_future(s.post(url + "/get_reward", json=body))
                await asyncio.sleep(0.5)  # the /metrics request ended, but /get_reward is in flight
                during = await metric(s)
                async with await task as r:
                    assert r.status == 200, await r.text()
                _garbage_cycles(20_000)
                await asyncio.sleep(0.4)
                after = await metric(s)
        finally:
            await runner.cleanup()
            await srv.stop()
        return before, during, after

    saved = gc.get_threshold()
    gc.set_threshold(1_000_000, 20, 100)  # the service's setting (settle_heap): no automatic collection here
    try:
        before, during, after = asyncio.run(main())
    finally:
        gc.set_threshold(*saved)
    assert during == before and after >= before + 1


_PROBE = """
import gc, json
from polaris.service._run import GC_THRESHOLDS, settle_heap
settle_heap(import_judge_sdk=False)
print(json.dumps(list(gc.get_threshold())))
"""


def test_young_threshold_is_above_a_burst():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0] >= 500_000  # a 1,024-sample burst keeps ~150,000 objects alive
