"""Reward throughput: the polaris reward service vs OpenRLHF's stock ``.py reward_func`` path.

Setup (all on 127.0.0.1): a fake OpenAI-compatible judge in a subprocess with a fixed latency L
per call and a capacity of C concurrent calls (the answers of ``tests/fakes/openai_server.py``,
built inside the latency window rather than at its edge, so the fake's own CPU does not delay
other calls: a real endpoint runs on other machines); the reward service (``polaris
serve-reward``) in a subprocess with judge concurrency C; this process plays the trainer,
sending one sample per request on a connection of its own, as OpenRLHF's client does (a new
``ClientSession`` per request). All three share this machine's cores.

The trainer side is a lean HTTP/1.1 client by default (``--client lean``: requests encoded before
the clock starts, written as soon as each connection opens, answers read by Content-Length):
OpenRLHF's clients run in the vLLM engine processes on the GPU nodes, and an aiohttp client
serving 1,024 requests from this process spends ~0.3 s of the shared cores opening every
connection before it writes the first request. ``--client aiohttp`` runs phase 1 with an
aiohttp session instead, for comparison. Phase 2 always uses aiohttp.

0. The fake judge alone (C concurrent calls from a plain aiohttp client): the ceiling for 1.
1. N unique samples at once through ``/get_reward``: wall time vs the ideal ceil(N/C)·L, run
   ``--repeat`` times with fresh samples (the median is the result). Each run also prints when the
   first judge call started, when C calls were in flight and what came after the last wave: with C
   slots each serving ceil(N/C) calls in a row, wall = (time to C in flight) + ceil(N/C)·L + tail,
   so these show where the gap to the ideal is; and the service's CPU time per sample (Linux), a
   measure of its cost that does not depend on the wall-clock noise of a shared machine.
2. Re-sends: N other samples, each sent again L/2 later (a client timing out and retrying) —
   judge calls per unique sample (goal 1.00: the re-send joins the running judgment).
3. The stock path: ``--reward.remote_url reward.py`` calls ``reward_func`` once per sample via
   ``asyncio.to_thread`` on each vLLM engine's default pool (min(32, CPUs+4) threads), 4 engines;
   the function calls the judge synchronously. Speed-up of 1 over 3 (goal ≥ 9x, ≥ 0.9 of ideal).

    python benchmarks/reward_throughput.py [--n 1024] [--latency 2] [--capacity 256] [--engines 4] [--repeat 5]
                                           [--client lean|aiohttp]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fakes"))

TEMPLATED = "<|im_start|>user\nWrite a story about a harbour town.<|im_end|>\n<|im_start|>assistant\n<think>\n"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def _serve_judge(port: int, latency: float, capacity: int) -> None:
    """The benchmark's judge: the fault-injection fake's answers (same ``SchemaFaker`` content), but
    built while the request waits for a capacity slot, so only the fixed latency sits on the
    critical path, as on a real endpoint whose own CPU is not ours to share."""
    from aiohttp import web
    from openai_server import SchemaFaker, _response_schema, extract_story

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sem = asyncio.Semaphore(capacity)

    def answer(raw: bytes) -> bytes:
        body = json.loads(raw)
        obj = SchemaFaker(extract_story(body.get("messages") or [])).build(_response_schema(body) or {})
        return json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": json.dumps(obj)}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
        }).encode()

    starts: list[float] = []  # when each call got its slot (time.monotonic: one clock for all processes)

    async def completions(request: web.Request) -> web.Response:
        async with sem:  # the latency clock starts when the call gets one of the `capacity` slots
            t0 = loop.time()
            starts.append(time.monotonic())
            raw = await request.read()
            # The answer is built mid-window, not at the edge where a wave of calls arrives at once: the
            # endpoint's own CPU must not delay the start of other calls' clocks (a real endpoint runs
            # on other machines).
            await asyncio.sleep(latency / 2)
            payload = answer(raw)
            await asyncio.sleep(max(0.0, latency - (loop.time() - t0)))
        return web.Response(body=payload, content_type="application/json")

    async def trace(request: web.Request) -> web.Response:
        out, starts[:] = list(starts), []
        return web.json_response({"starts": out})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/trace", trace)  # the benchmark's own probe: call start times since the last read
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096, loop=loop)


def _fake_cmd(port: int, latency: float, capacity: int) -> list[str]:
    return [sys.executable, __file__, "--serve-judge", str(port), "--latency", str(latency),
            "--capacity", str(capacity)]


def _story(i: int) -> str:
    from judge_helpers import story_words

    return story_words(300, seed=i)


class _OneRequest(asyncio.Protocol):
    """One POST on a fresh connection: writes the request as soon as the connection opens, resolves
    ``done`` with the answer body (by Content-Length), or fails it on a non-200 or a dropped connection."""

    def __init__(self, request: bytes, done: asyncio.Future) -> None:
        self.request, self.done, self.buf = request, done, bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head, sep, body = bytes(self.buf).partition(b"\r\n\r\n")
        if not sep or self.done.done():
            return
        lines = head.split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if b"content-length" not in headers:
            self.done.set_exception(RuntimeError(f"answer without Content-Length: {head[:200]!r}"))
        elif len(body) >= int(headers[b"content-length"]):
            status = int(lines[0].split()[1])
            if status == 200:
                self.done.set_result(body[: int(headers[b"content-length"])])
            else:
                self.done.set_exception(RuntimeError(f"HTTP {status}: {body[:300]!r}"))
        else:
            return
        assert self.transport is not None
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("connection closed before a whole answer"))


async def _post_lean(url: str, bodies: list[tuple[float, bytes]]) -> list[float]:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    loop = asyncio.get_running_loop()

    async def one(delay: float, request: bytes) -> float:
        if delay:
            await asyncio.sleep(delay)
        done = loop.create_future()
        await loop.create_connection(lambda: _OneRequest(request, done), host, int(port))
        return json.loads(await done)["rewards"][0]

    return list(await asyncio.gather(*(one(d, r) for d, r in bodies)))


def _encode_requests(url: str, bodies: list[tuple[float, dict]]) -> list[tuple[float, bytes]]:
    """The lean client's requests, encoded before the clock starts."""
    hostport = url.split("//", 1)[1]
    out = []
    for delay, body in bodies:
        data = json.dumps(body).encode()
        out.append((delay, (f"POST /get_reward HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
                            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data))
    return out


async def _post_many(url: str, bodies: list[tuple[float, dict]]) -> list[float]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=900)) as s:
        async def one(delay: float, body: dict) -> float:
            await asyncio.sleep(delay)
            async with s.post(url + "/get_reward", json=body) as r:
                r.raise_for_status()
                return (await r.json())["rewards"][0]

        return list(await asyncio.gather(*(one(d, b) for d, b in bodies)))


async def _judge_alone(judge_url: str, n: int, cap: int) -> float:
    """The fake judge by itself: n judge requests, at most ``cap`` at once, from a plain aiohttp client."""
    import aiohttp

    from polaris.judge import build_messages
    from polaris.rubric import answer_schema, load_rubric

    spec = load_rubric("polaris-story-quality")
    schema = answer_schema(spec)
    fmt = {"type": "json_schema", "json_schema": {"name": "judgment", "strict": True, "schema": schema}}
    bodies = [json.dumps({"model": "fake-judge", "messages": build_messages(spec, "Write a story.", _story(i), schema=schema),
                          "response_format": fmt}).encode() for i in range(n)]
    sem = asyncio.Semaphore(cap)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        async def one(body: bytes) -> None:
            async with sem:
                async with s.post(judge_url + "/chat/completions", data=body,
                                  headers={"Content-Type": "application/json"}) as r:
                    r.raise_for_status()
                    await r.read()

        await one(bodies[0])  # one warm connection, as the service has after its warm-up
        t0 = time.monotonic()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.monotonic() - t0


def _trace(port: int) -> list[float]:
    """Start times (time.monotonic) of the fake judge's calls since the last read."""
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/trace", timeout=10).read())["starts"]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _judge_calls(url: str) -> float:
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("polaris_reward_judge_calls_total "):
            return float(line.split()[1])
    return 0.0


def _body(i: int) -> dict:
    return {"query": [TEMPLATED + "plan\n</think>\n" + _story(i) + "<|im_end|>"], "prompts": [TEMPLATED],
            "labels": [json.dumps({"id": f"s{i}", "target_words": 300})]}


def _stock_path(judge_url: str, n: int, engines: int, offset: int) -> float:
    """OpenRLHF's .py path: per engine, asyncio.to_thread(reward_func, [q], [p], [l]) per sample."""
    from judge_helpers import judge_cfg

    from polaris.judge import build_messages
    from polaris.rubric import answer_schema, load_rubric, parse_answer, score_answer

    spec = load_rubric("polaris-story-quality")
    schema = answer_schema(spec)
    cfg = judge_cfg(judge_url)

    def reward_func(queries, prompts, labels):  # what a user's reward.py would do: one blocking judge call
        story = queries[0][len(prompts[0]):].split("</think>")[-1].replace("<|im_end|>", "")
        msgs = build_messages(spec, "Write a story about a harbour town.", story, schema=schema)
        req = {"model": "fake", "messages": msgs, "temperature": cfg.sampling.temperature,
               "response_format": {"type": "json_schema", "json_schema": {"name": "j", "schema": schema}}}
        r = urllib.request.Request(judge_url + "/chat/completions", data=json.dumps(req).encode(),
                                   headers={"Content-Type": "application/json"})
        out = json.loads(urllib.request.urlopen(r, timeout=600).read())
        ans = parse_answer(spec, out["choices"][0]["message"]["content"])
        return {"rewards": [score_answer(spec, ans, story).value]}

    per_engine = [list(range(offset + e, offset + n, engines)) for e in range(engines)]

    def engine(ids: list[int]) -> None:
        async def main() -> None:
            await asyncio.gather(*(asyncio.to_thread(reward_func, *[[x] for x in (
                _body(i)["query"][0], TEMPLATED, _body(i)["labels"][0])]) for i in ids))
        asyncio.run(main())  # a fresh loop → its own default pool of min(32, CPUs+4) threads

    t0 = time.monotonic()
    threads = [threading.Thread(target=engine, args=(ids,)) for ids in per_engine]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024, help="samples per phase")
    ap.add_argument("--latency", type=float, default=2.0, help="judge latency per call, seconds")
    ap.add_argument("--capacity", type=int, default=256, help="judge endpoint's concurrent capacity")
    ap.add_argument("--engines", type=int, default=4, help="vLLM engines in the stock path")
    ap.add_argument("--repeat", type=int, default=5, help="runs of [1] (the median is the result)")
    ap.add_argument("--client", choices=("lean", "aiohttp"), default="lean",
                    help="the trainer-side client of phase [1] (see the module docstring)")
    ap.add_argument("--skip-stock", action="store_true", help="skip the (slow) stock path")
    ap.add_argument("--serve-judge", type=int, metavar="PORT", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_judge:
        return _serve_judge(a.serve_judge, a.latency, a.capacity)
    n, lat, cap = a.n, a.latency, a.capacity
    from judge_helpers import judge_cfg, service_cfg

    fport, sport = _port(), _port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    fake = subprocess.Popen(_fake_cmd(fport, lat, cap), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    judge_url = f"http://127.0.0.1:{fport}/v1"
    with tempfile.TemporaryDirectory() as tmp:
        service_cfg(judge_cfg(judge_url, concurrency=cap, timeout_s=max(60.0, 4 * lat))).write(tmp)
        svc = subprocess.Popen([sys.executable, "-c", "from polaris.cli.serve_reward import command; command()", tmp,
                                "--port", str(sport), "--state-dir", str(Path(tmp) / "state")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            _wait(fport, fake, "fake judge")
            _wait(sport, svc, "reward service")
            url = f"http://127.0.0.1:{sport}"
            ideal = math.ceil(n / cap) * lat
            alone = asyncio.run(_judge_alone(judge_url, n, cap))
            print(f"[0] fake judge alone: {n} calls in {alone:.2f} s; ideal/wall = {ideal / alone:.2f} "
                  f"(the ceiling for [1] on this machine)")
            asyncio.run(_post_many(url, [(0.0, _body(10**6))]))  # warm-up: lazy imports, first connection
            ratios = []
            for run in range(a.repeat):
                _trace(fport)
                bodies = [(0.0, _body(run * n + i)) for i in range(n)]  # fresh samples, built before the clock
                cpu0 = _cpu_seconds(svc.pid)
                if a.client == "lean":
                    requests = _encode_requests(url, bodies)
                    t0 = time.monotonic()
                    rewards = asyncio.run(_post_lean(url, requests))
                else:
                    t0 = time.monotonic()
                    rewards = asyncio.run(_post_many(url, bodies))
                wall = time.monotonic() - t0
                cpu1 = _cpu_seconds(svc.pid)
                if len(rewards) != n or not all(isinstance(r, float) for r in rewards):
                    raise SystemExit(f"run {run + 1}: expected {n} float rewards, got {rewards[:5]}...")
                starts = sorted(x - t0 for x in _trace(fport))
                full = starts[min(cap, n) - 1]
                ratios.append(ideal / wall)
                print(f"[1] service ({a.client} client), run {run + 1}/{a.repeat}: {n} samples in {wall:.2f} s; ideal ceil(N/C)*L = "
                      f"{ideal:.2f} s; ideal/wall = {ideal / wall:.2f} (first judge call at +{starts[0]:.2f} s, "
                      f"{min(cap, n)} in flight at +{full:.2f} s, after the last wave +{wall - full - ideal:.2f} s"
                      + (f"; service CPU {(cpu1 - cpu0) * 1000 / n:.2f} ms/sample)" if cpu0 is not None and cpu1 is not None
                         else ")"))
            ratio = statistics.median(ratios)
            print(f"[1] median of {a.repeat} runs: ideal/wall = {ratio:.2f}")
            before = _judge_calls(url)
            base = a.repeat * n
            bodies = [(0.0, _body(base + i)) for i in range(n)] + [(lat / 2, _body(base + i)) for i in range(n)]
            asyncio.run(_post_many(url, bodies))
            per = (_judge_calls(url) - before) / n
            print(f"[2] re-sends: {2 * n} requests for {n} samples -> {per:.2f} judge calls per unique sample")
            if a.skip_stock:
                return
            stock = _stock_path(judge_url, n, a.engines, offset=base + n)
            threads = a.engines * min(32, (os.cpu_count() or 1) + 4)
            print(f"[3] stock .py reward_func: {stock:.2f} s ({a.engines} engines x {threads // a.engines} threads; "
                  f"ideal for it ceil(N/{threads})*L = {math.ceil(n / threads) * lat:.2f} s)")
            print(f"speed-up: {stock * ratio / ideal:.1f}x (goal >= 9x, median run); service at {ratio:.2f} of ideal "
                  f"(goal >= 0.9, median run)")
        finally:
            for p in (svc, fake):
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
