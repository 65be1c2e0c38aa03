"""The executor's /v1/score client against a real local HTTP server."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from fakes.service_helpers import start_app

from polaris.hri._scoring import ScoreClient, ScoreRequest


def _request(i: int) -> ScoreRequest:
    return ScoreRequest(key=f"k{i}", id=f"s{i}", judge_prompt="Write a story.", response="A story.",
                        target_words=100, is_reference=False, response_tokens=3, think_tokens=0, truncated=False)


def test_concurrency_above_aiohttp_pool_default_reaches_the_service():
    # aiohttp pools 100 connections per session by default: max_concurrency above that must put
    # that many requests in flight, not queue them silently against the timeout.
    n = 130

    async def main() -> tuple[int, list]:
        state = {"in": 0, "max": 0}
        release = asyncio.Event()

        async def score(request: web.Request) -> web.Response:
            item = (await request.json())["items"][0]
            state["in"] += 1
            state["max"] = max(state["max"], state["in"])
            await release.wait()
            state["in"] -= 1
            return web.json_response({"results": [{"key": item["key"], "reward": 0.5, "failed": False}]})

        app = web.Application()
        app.router.add_post("/v1/score", score)
        runner, url = await start_app(app)
        client = ScoreClient(url, token_env=None, timeout_s=60, retries=1, max_concurrency=n)
        try:
            tasks = [asyncio.ensure_future(client.score(_request(i))) for i in range(n)]
            deadline = time.monotonic() + 30
            while state["in"] < n and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a cap would show as in-flight stuck at the pool size
            seen = state["max"]
            release.set()
            return seen, await asyncio.gather(*tasks)
        finally:
            await client.close()
            await runner.cleanup()

    seen, results = asyncio.run(main())
    assert seen == n
    assert [r.failed for r in results] == [False] * n and {r.reward for r in results} == {0.5}


def test_client_reads_the_real_service_answer():
    # contract: what polaris.service's /v1/score returns is what the executor's client parses
    # (the judge's SQ is the result's own field, not a component)
    from fakes.judge_helpers import judge_cfg, service_cfg, story_words
    from fakes.openai_server import FakeOpenAIServer
    from fakes.service_helpers import running_service

    async def main():
        srv = await FakeOpenAIServer().start()
        try:
            async with running_service(service_cfg(judge_cfg(srv.base_url)), None) as url:
                client = ScoreClient(url, token_env=None, timeout_s=60, retries=1, max_concurrency=4)
                try:
                    req = _request(0)
                    req.response = "<think>x</think>\n" + story_words(300, 3)
                    ok = await client.score(req)
                    req2 = _request(1)
                    req2.response = "no closing think tag: a format failure, floored without the judge"
                    floored = await client.score(req2)
                finally:
                    await client.close()
        finally:
            await srv.stop()
        return ok, floored, srv.calls

    ok, floored, calls = asyncio.run(main())
    assert not ok.failed and ok.story_quality is not None and ok.story_quality != 0.0
    assert "story_quality" not in ok.components and "repetition" in ok.components
    assert not floored.failed and floored.story_quality is None and floored.reward is not None
    assert calls == 1
