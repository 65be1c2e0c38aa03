"""A local OpenAI-compatible ``/v1/chat/completions`` server with programmable faults.

Real HTTP on 127.0.0.1 (aiohttp), used by the judge/service tests and the throughput benchmark.
It answers with JSON that satisfies the JSON schema found in the request's ``response_format``
(values drawn deterministically from the story text, quotes taken verbatim from the story), and
can inject, per call, the faults seen in practice:

``"ok"``, ``"429"`` (with Retry-After), ``"500"``, ``"503"``, ``"400"``, ``"reset"`` (connection
dropped mid-request), ``"hang"`` (never answers within any sane timeout), ``"truncated"`` (JSON cut
off, finish_reason=length), ``"out_of_range"`` (an integer far outside its maximum), ``"refusal"``
(prose instead of JSON), ``"extra_key"``.

Faults are consumed from a script (``server.script(["429", "ok"])``) in call order, then
``default_fault`` applies. ``reject_json_schema=True`` makes it behave like llama.cpp's server: a
``response_format`` of type ``json_schema`` gets HTTP 500 naming ``response_format``, and
``json_object`` + ``schema`` is accepted. ``latency_s`` delays every answer; ``capacity`` bounds
how many requests are processed at once (the rest queue, as on a real endpoint).

Usable from async code (``await srv.start()``) or, for sync tests and subprocesses, in a
background thread (``with FakeOpenAIServer(...).running() as srv``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import re
import threading
from collections import Counter
from typing import Any, Callable, Iterator

from aiohttp import web

AnswerFn = Callable[[dict[str, Any], str], Any]

_NONCE_BLOCK = re.compile(r"<(story_[0-9a-f]{8,})>\n?(.*?)\n?</\1>", re.S)


def extract_story(messages: list[dict[str, Any]]) -> str:
    """The text between the judge prompt's nonce tags (empty when absent)."""
    for msg in messages:
        content = msg.get("content") or ""
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        m = _NONCE_BLOCK.search(content)
        if m:
            return m.group(2)
    return ""


class SchemaFaker:
    """Builds an instance of a JSON schema: deterministic per story, quotes copied from the story."""

    def __init__(self, story: str, mode: str = "random") -> None:
        self.story = story
        self.words = story.split()
        seed = int(hashlib.sha256(story.encode()).hexdigest()[:12], 16)
        self.rng = random.Random(seed)
        self.mode = mode  # "random" | "max" | "min"

    def quote(self) -> str:
        if not self.words:
            return ""
        n = min(6, len(self.words))
        start = self.rng.randrange(0, len(self.words) - n + 1)
        return " ".join(self.words[start : start + n])

    def build(self, schema: dict[str, Any], name: str = "", root: dict[str, Any] | None = None) -> Any:
        root = root or schema
        if "$ref" in schema:
            ref = schema["$ref"].split("/")[-1]
            defs = root.get("$defs") or root.get("definitions") or {}
            return self.build(defs[ref], name, root)
        if "enum" in schema:
            opts = list(schema["enum"])
            if self.mode == "max":
                return max(opts) if all(isinstance(o, (int, float)) for o in opts) else opts[0]
            if self.mode == "min":
                return min(opts) if all(isinstance(o, (int, float)) for o in opts) else opts[0]
            return self.rng.choice(opts)
        if "const" in schema:
            return schema["const"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
                return self.build(options[0], name, root)
        typ = schema.get("type")
        if isinstance(typ, list):
            typ = next((t for t in typ if t != "null"), "null")
        if typ == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {k: self.build(v, k, root) for k, v in props.items()}
        if typ == "array":
            lo = schema.get("minItems", 1)
            hi = schema.get("maxItems", max(lo, 1))
            n = max(lo, min(hi, 1))
            return [self.build(schema.get("items", {}), name, root) for _ in range(n)]
        if typ in ("integer", "number"):
            lo = int(schema.get("minimum", 0))
            hi = int(schema.get("maximum", lo + 10))
            if self.mode == "max":
                return hi
            if self.mode == "min":
                return lo
            return self.rng.randint(lo, hi)
        if typ == "boolean":
            return False
        if typ == "string":
            if "quote" in name.lower() or "evidence" in name.lower():
                return self.quote()
            text = f"fake rationale for {name or 'field'}"
            return text[: schema.get("maxLength", len(text))]
        return None


def _response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    if fmt.get("type") == "json_object":
        return fmt.get("schema")
    return None


def _bump_one_integer(obj: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    """Set the first integer with a maximum far above it (in place). True when one was found."""
    if "$ref" in schema:
        defs = root.get("$defs") or root.get("definitions") or {}
        schema = defs[schema["$ref"].split("/")[-1]]
    if isinstance(obj, dict):
        for k, v in obj.items():
            sub = (schema.get("properties") or {}).get(k, {})
            if isinstance(v, int) and not isinstance(v, bool):
                hi = sub.get("maximum", max(sub.get("enum", [10]) or [10]) if "enum" in sub else 10)
                obj[k] = int(hi) + 1000
                return True
            if _bump_one_integer(v, sub, root):
                return True
    if isinstance(obj, list):
        for v in obj:
            if _bump_one_integer(v, schema.get("items", {}), root):
                return True
    return False


class FakeOpenAIServer:
    """The fault-injection server. Attributes ``calls``, ``faults_served``, ``max_in_flight`` are for assertions."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        capacity: int | None = None,
        reject_json_schema: bool = False,
        default_fault: str = "ok",
        retry_after_s: float = 1.0,
        hang_s: float = 3600.0,
        answer_fn: AnswerFn | None = None,
        score_mode: str = "random",
        usage_tokens: tuple[int, int] = (1000, 200),
    ) -> None:
        self.latency_s = latency_s
        self.capacity = capacity
        self.reject_json_schema = reject_json_schema
        self.default_fault = default_fault
        self.retry_after_s = retry_after_s
        self.hang_s = hang_s
        self.answer_fn = answer_fn
        self.score_mode = score_mode
        self.usage_tokens = usage_tokens
        self._script: list[str] = []
        self._lock = threading.Lock()
        self.calls = 0  # every POST to /v1/chat/completions
        self.ok_answers = 0  # 200 answers with a completion
        self.in_flight = 0
        self.max_in_flight = 0
        self.faults_served: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.call_times: list[float] = []
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._sem: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- programming -------------------------------------------------------------------------
    def script(self, faults: list[str]) -> None:
        """Queue faults for the next calls, in order."""
        with self._lock:
            self._script.extend(faults)

    def reset_counters(self) -> None:
        with self._lock:
            self.calls = self.ok_answers = self.max_in_flight = 0
            self.faults_served.clear()
            self.requests.clear()
            self.call_times.clear()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- serving ---------------------------------------------------------------------------
    def _next_fault(self) -> str:
        with self._lock:
            return self._script.pop(0) if self._script else self.default_fault

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        loop = asyncio.get_running_loop()
        with self._lock:
            self.calls += 1
            self.requests.append(body)
            self.call_times.append(loop.time())
        fault = self._next_fault()
        fmt = body.get("response_format") or {}
        if self.reject_json_schema and fmt.get("type") == "json_schema":
            self.faults_served["json_schema_rejected"] += 1
            return web.json_response(
                {"error": {"message": "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                           "  Input should be 'text' or 'json_object'", "type": "internal_server_error"}},
                status=500,
            )
        sem = self._sem
        if sem is not None:
            await sem.acquire()
        try:
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return await self._answer(request, body, fault)
        finally:
            with self._lock:
                self.in_flight -= 1
            if sem is not None:
                sem.release()

    async def _answer(self, request: web.Request, body: dict[str, Any], fault: str) -> web.StreamResponse:
        self.faults_served[fault] += 1
        if fault == "429":
            return web.json_response(
                {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                status=429,
                headers={"Retry-After": str(self.retry_after_s)},
            )
        if fault in ("500", "503", "502"):
            return web.json_response({"error": {"message": f"fake {fault}"}}, status=int(fault))
        if fault == "400":
            return web.json_response({"error": {"message": "bad request (fake)", "type": "invalid_request_error"}},
                                     status=400)
        if fault == "reset":
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError  # aiohttp drops the handler; the client sees a reset
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
        messages = body.get("messages") or []
        story = extract_story(messages)
        schema = _response_schema(body)
        finish = "stop"
        if fault == "refusal":
            content = "I'm sorry, but I can't help with evaluating this story."
        else:
            if self.answer_fn is not None:
                obj = self.answer_fn(body, story)
            elif schema is not None:
                obj = SchemaFaker(story, self.score_mode).build(schema)
            else:
                obj = {"score": 5}
            if fault == "out_of_range" and schema is not None and isinstance(obj, dict):
                _bump_one_integer(obj, schema, schema)
            if fault == "extra_key" and isinstance(obj, dict):
                obj["overall_score"] = 108
            if isinstance(obj, list):  # several choices (a policy endpoint asked for n samples)
                return self._choices(body, obj)
            content = obj if isinstance(obj, str) else json.dumps(obj)
            if fault == "truncated":
                content = content[: max(1, len(content) // 2)]
                finish = "length"
        with self._lock:
            self.ok_answers += 1
        pt, ct = self.usage_tokens
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
            }
        )

    def _choices(self, body: dict[str, Any], outs: list[Any]) -> web.Response:
        """One choice per element: a string is the content; a dict may also carry ``reasoning_content``
        (what reasoning-aware servers return when they separate the thinking from the answer)."""
        with self._lock:
            self.ok_answers += 1
        choices = []
        for i, o in enumerate(outs):
            msg = {"role": "assistant", **(o if isinstance(o, dict) else {"content": o})}
            choices.append({"index": i, "finish_reason": "stop", "message": msg})
        pt, ct = self.usage_tokens
        return web.json_response({"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
                                  "model": body.get("model", "fake"), "choices": choices,
                                  "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct}})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake-judge", "object": "model"}]})

    async def start(self, port: int = 0) -> "FakeOpenAIServer":
        """Start on 127.0.0.1 (``port=0`` picks a free port) in the running loop."""
        self._loop = asyncio.get_running_loop()
        self._sem = asyncio.Semaphore(self.capacity) if self.capacity else None
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def running(self) -> Iterator["FakeOpenAIServer"]:
        """Run in a background thread with its own event loop (for sync tests and subprocess clients)."""
        started = threading.Event()
        loop = asyncio.new_event_loop()

        def _main() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=_main, name="fake-openai", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        try:
            yield self
        finally:
            fut = asyncio.run_coroutine_threadsafe(self.stop(), loop)
            with contextlib.suppress(Exception):
                fut.result(5)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
            loop.close()


def main() -> None:  # pragma: no cover - manual use: python tests/fakes/openai_server.py --port 8000
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--capacity", type=int, default=None)
    p.add_argument("--reject-json-schema", action="store_true")
    p.add_argument("--default-fault", default="ok")
    a = p.parse_args()
    srv = FakeOpenAIServer(latency_s=a.latency, capacity=a.capacity, reject_json_schema=a.reject_json_schema,
                           default_fault=a.default_fault)

    async def _run() -> None:
        await srv.start(a.port)
        print(f"fake OpenAI server on {srv.base_url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(_run())


if __name__ == "__main__":  # pragma: no cover
    main()
