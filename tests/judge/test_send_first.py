"""Send first: when a finished call frees its slot for a queued one, the queued call is sent
before the finished call's answer goes on to parsing and scoring (the endpoint never idles behind
our own post-processing). Real HTTP on 127.0.0.1. And the wave hold: while calls are queued, an
answer's post-processing waits for the wave of answers to pause (bounded), then goes."""

from __future__ import annotations

import asyncio

from aiohttp import web
from judge_helpers import judge_cfg
from service_helpers import start_app

from polaris.judge._backend import Backend

ANSWER = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}


async def _server(arrived: list[str]) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.Response:
        arrived.append((await request.json())["messages"][0]["content"])
        await asyncio.sleep(0.05)
        return web.json_response(ANSWER)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner, url = await start_app(app)
    return runner, url + "/v1"


def test_queued_call_is_sent_before_the_finished_answer_is_returned():
    async def main() -> tuple[list[int], list[str]]:
        arrived: list[str] = []
        runner, url = await _server(arrived)
        backend = Backend(judge_cfg(url, concurrency=1).members()[0], judge_cfg(url, concurrency=1))
        calls_at_return: list[int] = []

        async def one(tag: str) -> None:
            await backend.complete([{"role": "user", "content": tag}], {"type": "object"})
            calls_at_return.append(backend.http_calls)

        try:
            await asyncio.gather(*(one(f"c{i}") for i in range(3)))
        finally:
            await backend.aclose()
            await runner.cleanup()
        return calls_at_return, arrived

    calls_at_return, arrived = asyncio.run(main())
    assert sorted(arrived) == ["c0", "c1", "c2"]
    # one slot: when call k's answer is handed back, call k+1 has already been put on the wire
    assert calls_at_return == [2, 3, 3]


def test_send_first_bookkeeping_settles():
    """After a burst with waiters (some cancelled while queued), no hand-off is left pending: a later
    answer is never held back waiting for a sender that does not exist."""
    async def main() -> tuple[int, int, bool]:
        arrived: list[str] = []
        runner, url = await _server(arrived)
        cfg = judge_cfg(url, concurrency=2)
        backend = Backend(cfg.members()[0], cfg)
        try:
            tasks = [asyncio.ensure_future(backend.complete([{"role": "user", "content": f"c{i}"}], {"type": "object"}))
                     for i in range(8)]
            await asyncio.sleep(0.01)
            for t in tasks[4:]:
                t.cancel()  # cancelled while waiting for a slot
            await asyncio.gather(*tasks, return_exceptions=True)
            done = await asyncio.wait_for(backend.complete([{"role": "user", "content": "late"}], {"type": "object"}), 5)
        finally:
            await backend.aclose()
            await runner.cleanup()
        return backend._slots.waiting, backend._slots.handoffs, done.content == "{}"

    waiting, handoffs, ok = asyncio.run(main())
    assert (waiting, handoffs, ok) == (0, 0, True)


# -- the wave hold (polaris.judge._slots) ------------------------------------------------------
def test_answer_waits_for_its_wave_while_calls_are_queued():
    """Slots handed on every 5 ms (a wave of answers) with calls still queued: an answer that came in
    first is held until the arrivals pause (WAVE_QUIET_S), then let go at once."""
    from polaris.judge._slots import WAVE_HOLD_MAX_S, WAVE_QUIET_S, Slots

    async def main() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        slots = Slots(1)
        await slots.acquire()
        queued = [asyncio.ensure_future(slots.acquire()) for _ in range(8)]
        await asyncio.sleep(0)
        t0 = loop.time()
        slots.release()  # the first answer frees its slot for the first queued call
        held = asyncio.ensure_future(slots.hold())
        last = t0
        for _ in range(5):  # four more answers, 5 ms apart, each handing its slot on
            await asyncio.sleep(0.005)
            assert not held.done()
            last = loop.time()
            slots.release()
        await held
        for q in queued:
            q.cancel()
        return t0, last, loop.time()

    t0, last, released = asyncio.run(main())
    assert released - last >= WAVE_QUIET_S * 0.9 and released - t0 < WAVE_HOLD_MAX_S


def test_wave_hold_is_bounded():
    from polaris.judge._slots import WAVE_HOLD_MAX_S, Slots

    async def main() -> float:
        loop = asyncio.get_running_loop()
        slots = Slots(1)
        await slots.acquire()
        queued = [asyncio.ensure_future(slots.acquire()) for _ in range(200)]
        await asyncio.sleep(0)
        slots.release()
        t0 = loop.time()
        held = asyncio.ensure_future(slots.hold())
        while not held.done():  # answers never pause
            await asyncio.sleep(0.005)
            slots.release()
        for q in queued:
            q.cancel()
        return loop.time() - t0

    waited = asyncio.run(main())
    assert WAVE_HOLD_MAX_S * 0.9 <= waited < WAVE_HOLD_MAX_S + 0.1


def test_no_wave_hold_without_queued_calls_or_after_a_pause():
    from polaris.judge._slots import Slots

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        slots = Slots(2)
        await slots.acquire()
        slots.release()
        t0 = loop.time()
        await slots.hold()  # nothing queued: not held
        alone = loop.time() - t0
        await slots.acquire()
        await slots.acquire()
        queued = [asyncio.ensure_future(slots.acquire()) for _ in range(2)]
        await asyncio.sleep(0)
        slots.release()
        await asyncio.sleep(0.05)  # the wave has long passed when this answer is processed
        t1 = loop.time()
        assert slots.waiting == 1  # a call is still queued
        await slots.hold()
        late = loop.time() - t1
        for q in queued:
            q.cancel()
        return alone, late

    alone, late = asyncio.run(main())
    assert alone < 0.005 and late < 0.005
