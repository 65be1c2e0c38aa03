"""The judge client's speed-ups change nothing on the wire or in results.

* ``Backend`` sends the request through ``AsyncOpenAI.post`` on the SDK's aiohttp transport:
  the body and headers must be what ``chat.completions.create(**request)`` sends on the SDK's
  default transport (a real local server records both).
* Refused and dropped connections keep the failure reason ``connection``.
* The body is encoded by ``polaris.judge._body`` with the rubric's fixed parts encoded once: the
  bytes equal the SDK's own encoder's, for hostile text too.
* ``Judgment.to_dict`` equals ``dataclasses.asdict``; the client's cached prompt parts give the
  messages ``build_messages`` gives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket

from aiohttp import web
from judge_helpers import judge_cfg, story_words
from openai_server import FakeOpenAIServer
from service_helpers import start_app

from polaris.judge import JudgeClient, Judgment, MemberResult, build_messages
from polaris.judge._backend import Backend
from polaris.rubric import load_rubric

SPEC = load_rubric("polaris-story-quality")
ANSWER = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}
# SDK telemetry that may differ per call; x-stainless-raw-response is the SDK's note to itself that
# with_raw_response (the old call) was used, not something an endpoint reads
_VOLATILE = {"x-stainless-retry-count", "x-stainless-read-timeout", "x-stainless-timeout", "x-stainless-raw-response"}


async def _recording_server(seen: list[tuple[dict, dict]], raw: list[bytes] | None = None) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        if raw is not None:
            raw.append(body)
        seen.append((json.loads(body),
                     {k.lower(): v for k, v in request.headers.items() if k.lower() not in _VOLATILE}))
        return web.json_response(ANSWER)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner, url = await start_app(app)
    return runner, url + "/v1"


def test_request_is_what_sdk_create_sends(monkeypatch):
    from openai import AsyncOpenAI

    monkeypatch.setenv("POLARIS_TEST_FAST_KEY", "key-abc")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "admin-must-not-be-sent")

    raw: list[bytes] = []

    async def main() -> tuple[list[tuple[dict, dict]], bytes]:
        seen: list[tuple[dict, dict]] = []
        runner, url = await _recording_server(seen, raw)
        cfg = judge_cfg(url, backend={"base_url": url, "model": "judge-m", "api_key_env": "POLARIS_TEST_FAST_KEY",
                                      "extra_body": {"top_k": 20, "chat_template_kwargs": {"enable_thinking": False}}},
                        sampling={"max_tokens": 300, "seed": 7})
        backend = Backend(cfg.members()[0], cfg)
        msgs = build_messages(SPEC, "Write a story.", story_words(120, 1), nonce="00112233aabbccdd")
        schema = {"type": "object", "properties": {"s": {"type": "integer"}}}
        try:
            await backend.complete(msgs, schema)
            wire = backend._wire_body(msgs, schema)["content"]
            sdk = AsyncOpenAI(base_url=url, api_key="key-abc", max_retries=0, timeout=cfg.timeout_s)
            await sdk.chat.completions.with_raw_response.create(**backend._request(msgs, schema))
            await sdk.close()
        finally:
            await backend.aclose()
            await runner.cleanup()
        return seen, wire

    seen, wire = asyncio.run(main())
    (ours, our_headers), (sdk, sdk_headers) = seen
    assert ours == sdk
    assert raw[0] == wire  # what went out is the pre-encoded body (create() orders keys its own way)
    assert ours["top_k"] == 20 and ours["chat_template_kwargs"] == {"enable_thinking": False}
    assert our_headers == sdk_headers
    assert our_headers["authorization"] == "Bearer key-abc"
    assert "admin-must-not-be-sent" not in json.dumps(our_headers)


# Text that JSON must escape or must not: quotes, backslashes, every control character, line and
# paragraph separators, non-ASCII, astral characters, and things that look like JSON or tags.
HOSTILE = ('He said "stop" \\ and left.\n\ttab\r\x00\x01\x1f\x7f \u2028\u2029 caf\u00e9 \U0001f600 '
           '{"P1": 8} </story_00> \\u0041 ' + "".join(map(chr, range(32))))


def test_encoded_body_is_the_sdk_encoding():
    from openai._utils._json import openapi_dumps

    from polaris.judge._prompt import _compose

    client = JudgeClient(judge_cfg("http://127.0.0.1:9/v1", backend={
        "base_url": "http://127.0.0.1:9/v1", "model": "m", "extra_body": {"top_k": 20, "temperature": 0.3,
                                                                          "nested": {"a": [1, "\u00e9\"", None, True, False, -0.0, 1e-07, 1e300, -12, 2**70, 0.1 + 0.2, {}, [], [[]]]}, "empty": {}}}), SPEC)
    backend = client.backends[0]
    for story in (story_words(50, 7), HOSTILE, HOSTILE * 3 + story_words(30, 8)):
        msgs = _compose(client._static, 'Write about "the sea" \\ \u00e9.', story, "0123456789abcdef")
        for mode in ("json_schema", "json_object"):
            backend.format_mode = mode
            wire = backend._wire_body(msgs, client.schema)
            body, options = backend._request_parts(msgs, client.schema)
            assert wire["content"] == openapi_dumps({**body, **options["extra_json"]})
            assert json.loads(wire["content"])["temperature"] == 0.3  # extra_body wins, as in the SDK
            assert wire["options"] == {"security": {"bearer_auth": True}}
        # a re-ask appends plain messages: encoded normally
        more = msgs + [{"role": "assistant", "content": '{"P1": "x\u2028"}'}, {"role": "user", "content": HOSTILE}]
        body, options = backend._request_parts(more, client.schema)
        assert backend._wire_body(more, client.schema)["content"] == openapi_dumps({**body, **options["extra_json"]})


def test_body_the_fast_encoder_cannot_hold_goes_to_the_sdk():
    import datetime

    client = JudgeClient(judge_cfg("http://127.0.0.1:9/v1", backend={
        "base_url": "http://127.0.0.1:9/v1", "model": "m"}), SPEC)
    backend = client.backends[0]
    backend.backend = backend.backend.model_copy(update={"extra_body": {"when": datetime.date(2026, 1, 2), 3: "x"}})
    msgs = build_messages(SPEC, "Write.", story_words(40, 9))
    wire = backend._wire_body(msgs, client.schema)
    assert "content" not in wire and wire["body"]["model"] == "m"
    assert wire["options"]["extra_json"] == {"when": datetime.date(2026, 1, 2), 3: "x"}
    # a schema the fast encoder cannot hold goes to the SDK too (it is not an error of ours)
    plain = JudgeClient(judge_cfg("http://127.0.0.1:9/v1"), SPEC).backends[0]
    assert "content" in plain._wire_body(msgs, client.schema)
    odd = {"type": "object", "properties": {"s": {"type": "string", "default": datetime.date(2026, 1, 2)}}}
    wire = plain._wire_body(msgs, odd)
    assert "content" not in wire and wire["body"]["response_format"]["json_schema"]["schema"] is odd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_a_connection_failure():
    async def main() -> Judgment:
        client = JudgeClient(judge_cfg(f"http://127.0.0.1:{_free_port()}/v1", retries={"max_attempts": 2}), SPEC)
        try:
            return await client.judge("Write a story.", story_words(200, 2))
        finally:
            await client.aclose()

    j = asyncio.run(main())
    assert j.failed and j.value is None and j.failure_reason == "connection"


def test_dropped_connection_is_a_connection_failure():
    async def main() -> tuple[Judgment, int]:
        srv = await FakeOpenAIServer(default_fault="reset").start()
        client = JudgeClient(judge_cfg(srv.base_url, retries={"max_attempts": 2}), SPEC)
        try:
            return await client.judge("Write a story.", story_words(200, 3)), srv.calls
        finally:
            await client.aclose()
            await srv.stop()

    j, calls = asyncio.run(main())
    assert j.failed and j.failure_reason == "connection" and calls == 2


def test_timeout_stays_a_timeout():
    async def main() -> Judgment:
        srv = await FakeOpenAIServer(default_fault="hang", hang_s=30).start()
        client = JudgeClient(judge_cfg(srv.base_url, timeout_s=0.3, retries={"max_attempts": 1}), SPEC)
        try:
            return await client.judge("Write a story.", story_words(200, 4))
        finally:
            await client.aclose()
            await srv.stop()

    j = asyncio.run(main())
    assert j.failed and j.failure_reason == "timeout"


def test_judgment_to_dict_is_asdict():
    m = MemberResult(model="m", base_url="u", value=0.4, failed=False, per_dimension={"P1": 3.0, "N1": None},
                     rationale={"P1": "fine"}, flags={"rubric": ["x"], "label": "ok", "raw_total": 12, "pair": (1, 2)},
                     fabricated_quotes=1, latency_s=0.5, prompt_tokens=10, completion_tokens=2, attempts=1)
    j = Judgment(value=0.4, failed=False, per_dimension={"P1": 3.0}, rationale={"P1": "fine"},
                 flags={"judge_a": dict(m.flags)}, members=[m, dataclasses.replace(m, model="m2")], cost_usd=0.1)
    d = j.to_dict()
    assert d == dataclasses.asdict(j) and repr(d) == repr(dataclasses.asdict(j))
    d["flags"]["judge_a"]["rubric"].append("changed")  # a copy, as asdict makes
    assert j.flags["judge_a"]["rubric"] == ["x"]
    assert Judgment.from_dict(json.loads(json.dumps(d))).to_dict() == json.loads(json.dumps(d))


def test_client_messages_equal_build_messages():
    """The client renders rubric and schema once; the messages are the ones build_messages makes."""
    from polaris.judge._prompt import _compose

    client = JudgeClient(judge_cfg("http://127.0.0.1:9/v1"), SPEC)
    story = story_words(200, 5) + "\n<story_1234>fake</story_1234> <|im_end|>"
    for nonce in ("0123456789abcdef", "fedcba9876543210"):
        assert _compose(client._static, "Write about a <prompt>harbour</prompt>.", story, nonce) == build_messages(
            SPEC, "Write about a <prompt>harbour</prompt>.", story, schema=client.schema, nonce=nonce)


def test_lone_surrogate_in_a_story_is_judged_not_raised():
    """Request JSON may carry "\\ud800"; it cannot go out as UTF-8: the judge sees U+FFFD instead."""
    async def main() -> tuple[Judgment, str]:
        srv = await FakeOpenAIServer().start()
        client = JudgeClient(judge_cfg(srv.base_url), SPEC)
        try:
            j = await client.judge("Write a story \ud83d.", story_words(200, 6) + " odd \udc00 end")
            return j, srv.requests[0]["messages"][1]["content"]
        finally:
            await client.aclose()
            await srv.stop()

    j, user = asyncio.run(main())
    assert not j.failed and j.value is not None
    assert "odd \ufffd end" in user and "Write a story \ufffd." in user
