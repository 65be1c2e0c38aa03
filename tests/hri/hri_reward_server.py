"""A real aiohttp reward service on 127.0.0.1 speaking ``POST /v1/score`` (fault-injectable).

Runs in a background thread with its own event loop. The reward of a response is the number of
times the word "good" occurs in it (references contain more). A response containing "FAIL" is
reported as a failed judgment (``reward: null, failed: true``); ``flaky=k`` answers the first k
requests of every key with HTTP 503.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from aiohttp import web


class RewardServer:
    def __init__(self, flaky: int = 0, components=("length_penalty",)):
        self.flaky = flaky
        self.components = components
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.seen = Counter()
        self._ready = threading.Event()
        self.port = None

    async def _score(self, request):
        body = await request.json()
        self.headers.append(dict(request.headers))
        results = []
        for item in body["items"]:
            self.requests.append(item)
            self.seen[item["key"]] += 1
            if self.seen[item["key"]] <= self.flaky:
                return web.json_response({"error": "busy"}, status=503)
            text = item["response"]
            # the shape of polaris.service's /v1/score: SQ is the result's own field, the deterministic
            # components are computed (and returned) for failed rows too
            comps = {k: -0.5 for k in self.components}
            if "FAIL" in text:
                results.append({"key": item["key"], "reward": None, "failed": True, "story_quality": None,
                                "components": comps, "flags": {}, "dimensions": {}})
                continue
            sq = float(text.split().count("good"))
            results.append({"key": item["key"], "reward": sq, "failed": False, "story_quality": sq,
                            "components": comps, "flags": {}, "dimensions": {}})
        return web.json_response({"results": results})

    def _run(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/v1/score", self._score)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
