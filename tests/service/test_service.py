"""The reward service over real HTTP: protocols, failure policy, dedup, cache, auth, limits."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import aiohttp
import pytest
from judge_helpers import favourable_answer, judge_cfg, service_cfg, story_words
from openai_server import FakeOpenAIServer
from service_helpers import openrlhf_agent_module, running_service

from polaris.service import ServiceConfig
from polaris.service._run import ServiceError, is_loopback, resolve_token

ROOT = Path(__file__).resolve().parents[2]
PROMPT_TEXT = "Write a story about a lighthouse keeper. Your story should be approximately 300 words long."
TEMPLATED = f"<|im_start|>user\n{PROMPT_TEXT}<|im_end|>\n<|im_start|>assistant\n<think>\n"


def run(coro):
    return asyncio.run(coro)


def label(i: int, **kw) -> str:
    return json.dumps({"id": f"s{i}", "target_words": 300, **kw})


def query(story: str) -> str:
    return TEMPLATED + "plan the story\n</think>\n" + story + "<|im_end|>"


async def post(url: str, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s:
        async with s.post(url + path, json=body, headers=headers or {}) as r:
            return r.status, await r.json(content_type=None)


async def _with_service(fn, srv_kw: dict | None = None, cfg_kw: dict | None = None, tmp: Path | None = None,
                        app_kw: dict | None = None):
    srv = await FakeOpenAIServer(**(srv_kw or {})).start()
    try:
        cfg = service_cfg(judge_cfg(srv.base_url, **(cfg_kw or {})))
        async with running_service(cfg, tmp, **(app_kw or {})) as url:
            return await fn(url, srv)
    finally:
        await srv.stop()


def test_get_reward_protocol_and_stable_extra_logs(tmp_path):
    async def go(url, srv):
        a = await post(url, "/get_reward", {"query": [query(story_words(320, 1))], "prompts": [TEMPLATED],
                                           "labels": [label(1)]})
        b = await post(url, "/get_reward", {"query": [query(story_words(310, 2)), query("too short")],
                                           "prompts": [TEMPLATED, TEMPLATED], "labels": [label(2), {"id": "s3",
                                                                                               "target_words": 300}]})
        return a, b, srv

    (sa, a), (sb, b), srv = run(_with_service(go, tmp=tmp_path))
    assert sa == 200 and sb == 200
    assert len(a["rewards"]) == 1 and len(b["rewards"]) == 2 and a["scores"] == a["rewards"]
    assert set(a["extra_logs"]) == set(b["extra_logs"])
    for v in list(a["extra_logs"].values()) + list(b["extra_logs"].values()):
        assert all(isinstance(x, (int, float)) for x in v)
    assert a["extra_logs"]["judged"] == [1.0]
    # the judge never saw the length sentence, and the prompt was stripped of chat tokens
    user = srv.requests[0]["messages"][1]["content"]
    assert "lighthouse keeper" in user and "300 words" not in user and "<|im_start|>" not in user


def test_bad_labels_are_400(tmp_path):
    async def go(url, srv):
        r1 = await post(url, "/get_reward", {"query": [query("x")], "prompts": [TEMPLATED], "labels": ["{not json"]})
        r2 = await post(url, "/get_reward", {"query": [query("x")], "prompts": [TEMPLATED], "labels": [{"id": 1}]})
        r3 = await post(url, "/get_reward", {"query": [query("x")], "prompts": [], "labels": []})
        r4 = await post(url, "/get_reward", {"query": [query("x")], "prompts": [TEMPLATED],
                                             "labels": [label(4, target_words="lots")]})
        r5 = await post(url, "/get_reward", {"query": [query(story_words(300, 5))], "prompts": [TEMPLATED],
                                             "labels": [label(5, target_words="3k")]})
        return r1, r2, r3, r4, r5

    (s1, b1), (s2, b2), (s3, _), (s4, b4), (s5, b5) = run(_with_service(go, tmp=tmp_path))
    assert (s1, s2, s3, s4) == (400, 400, 400, 400)
    assert "labels[0]" in b1["error"] and "target_words" in b2["error"]
    # an unreadable target is the caller's bug, never silently "no target"
    assert "labels[0].target_words" in b4["error"] and "'lots'" in b4["error"]
    assert s5 == 200 and b5["extra_logs"]["length_penalty"][0] > 0  # "3k" read as 3,000 words: 300 is far off


def test_inflight_dedup_one_judge_call(tmp_path):
    story = story_words(330, 7)

    async def go(url, srv):
        body = {"query": [query(story)], "prompts": [TEMPLATED], "labels": [label(7)]}
        outs = await asyncio.gather(*(post(url, "/get_reward", body) for _ in range(12)))
        return outs, srv.calls

    outs, calls = run(_with_service(go, srv_kw={"latency_s": 0.5}, tmp=tmp_path))
    assert calls == 1
    assert len({o[1]["rewards"][0] for o in outs}) == 1 and all(o[0] == 200 for o in outs)


def test_failed_judge_imputed_with_request_batch_mean(tmp_path):
    bad = story_words(320, 11)

    def answer(body, story):
        from openai_server import SchemaFaker

        if story.startswith(bad[:40]):
            return "I refuse."
        fmt = body["response_format"]
        return SchemaFaker(story, "max").build(fmt.get("json_schema", {}).get("schema") or fmt["schema"])

    async def go(url, srv):
        both = await post(url, "/get_reward", {"query": [query(story_words(320, 12)), query(bad)],
                                               "prompts": [TEMPLATED] * 2, "labels": [label(12), label(11)]})
        only_bad = await post(url, "/get_reward", {"query": [query(bad)], "prompts": [TEMPLATED],
                                                   "labels": [label(11)]})
        v1 = await post(url, "/v1/score", {"items": [{"key": "k1", "id": "s11", "judge_prompt": "p",
                                                      "response": "<think></think>" + bad, "target_words": 300}]})
        return both, only_bad, v1

    (s, both), (s2, only_bad), (s3, v1) = run(_with_service(go, srv_kw={"answer_fn": answer}, tmp=tmp_path))
    assert s == 200
    logs = both["extra_logs"]
    assert logs["judge_failed"] == [0.0, 1.0] and logs["imputed"] == [0.0, 1.0]
    assert logs["story_quality"][1] == pytest.approx(logs["story_quality"][0])  # batch mean of the one success
    assert both["rewards"][1] == pytest.approx(both["rewards"][0]) and both["rewards"][1] != 0.0
    assert "format_problem" not in logs
    assert s2 == 503 and "retry" in only_bad["error"]  # nothing to impute from: OpenRLHF retries
    r = v1["results"][0]
    assert s3 == 200 and r["key"] == "k1" and r["failed"] is True and r["reward"] is None


def test_openrlhf_own_http_client_against_get_reward(tmp_path):
    agent = openrlhf_agent_module()

    async def go(url, srv):
        ex = agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")
        ok = await ex._fetch_rewards_via_http([query(story_words(320, 21))], [TEMPLATED], [label(21)])
        # judge down for the first 2 attempts of the next sample: 503, OpenRLHF retries after 1 s
        srv.script(["400", "400"])
        retried = await ex._fetch_rewards_via_http([query(story_words(320, 22))], [TEMPLATED], [label(22)])
        return ok, retried, srv.calls

    ok, retried, calls = run(_with_service(go, tmp=tmp_path))
    (info,) = ok
    assert isinstance(info["rewards"], list) and isinstance(info["rewards"][0], float)
    assert "story_quality" in info["extra_logs"]
    (info2,) = retried
    assert info2["extra_logs"]["judge_failed"] == [0.0] and calls == 4


def _canaries():
    path = ROOT / "tests" / "reward" / "canaries.py"
    if not path.exists():
        pytest.skip("the canary set (tests/reward/canaries.py) is not present")
    spec = importlib.util.spec_from_file_location("polaris_canaries", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CANARIES


def test_injection_canaries_floored_even_if_judge_obeys(tmp_path):
    canaries = _canaries()

    async def go(url, srv):
        items = [{"key": n, "id": n, "judge_prompt": "Write a story.", "target_words": 300,
                  "response": "<think>ok</think>\n" + story_words(300, i) + "\n\n" + s}
                 for i, (n, s) in enumerate(canaries)]
        benign = {"key": "benign", "id": "benign", "judge_prompt": "Write a story.", "target_words": 300,
                  "response": "<think>ok</think>\n" + story_words(300, 99)}
        return await post(url, "/v1/score", {"items": items + [benign]})

    status, body = run(_with_service(go, srv_kw={"answer_fn": favourable_answer()}, tmp=tmp_path))
    assert status == 200
    floor = ServiceConfig.model_fields["reward"].default_factory().injection_floor
    res = {r["id"]: r for r in body["results"]}
    for name, _ in canaries:
        assert res[name]["reward"] == pytest.approx(floor), name
    assert res["benign"]["reward"] > floor  # the obeying judge does pay a benign story


def test_auth_required_off_loopback(tmp_path, monkeypatch):
    monkeypatch.delenv("POLARIS_TEST_TOKEN", raising=False)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    with pytest.raises(ServiceError, match="POLARIS_TEST_TOKEN"):
        resolve_token("0.0.0.0", "POLARIS_TEST_TOKEN")
    assert resolve_token("127.0.0.1", "POLARIS_TEST_TOKEN") is None
    monkeypatch.setenv("POLARIS_TEST_TOKEN", "tok-123")
    assert resolve_token("0.0.0.0", "POLARIS_TEST_TOKEN") == "tok-123"

    async def go(url, srv):
        body = {"items": [{"id": "a", "judge_prompt": "p", "response": "<think></think>" + story_words(200)}]}
        no = await post(url, "/v1/score", body)
        wrong = await post(url, "/v1/score", body, {"Authorization": "Bearer nope"})
        yes = await post(url, "/v1/score", body, {"Authorization": "Bearer tok-123"})
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/healthz") as r:
                health = r.status
        return no[0], wrong[0], yes[0], health

    assert run(_with_service(go, tmp=tmp_path, app_kw={"token": "tok-123"})) == (401, 401, 200, 200)


def test_request_size_limit_and_metrics(tmp_path):
    async def go(url, srv):
        big = {"items": [{"id": "a", "judge_prompt": "p", "response": "x" * 2_000_000}]}
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "/v1/score", json=big) as r:
                too_big = r.status
        await post(url, "/v1/score", {"items": [{"id": "b", "judge_prompt": "p",
                                                 "response": "<think></think>" + story_words(200)}]})
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/metrics") as r:
                return too_big, await r.text()

    srv_cfg_patch = {}
    async def go_small():
        srv = await FakeOpenAIServer().start()
        try:
            cfg = service_cfg(judge_cfg(srv.base_url), max_request_mb=1.0)
            async with running_service(cfg, tmp_path) as url:
                return await go(url, srv)
        finally:
            await srv.stop()

    too_big, text = run(go_small())
    assert too_big == 413
    assert "polaris_reward_judge_calls_total 1" in text
    assert "polaris_reward_requests_v1_score_total" in text
    assert "polaris_reward_judge_latency_seconds_count 1" in text
    assert "polaris_reward_requests_in_flight" in text


def test_cache_survives_restart_and_audit_has_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("POLARIS_TEST_KEY", "very-secret-key-xyz")

    async def go():
        srv = await FakeOpenAIServer().start()
        try:
            j = judge_cfg(srv.base_url, backend={"base_url": srv.base_url, "model": "m",
                                                  "api_key_env": "POLARIS_TEST_KEY"})
            cfg = service_cfg(j)
            body = {"items": [{"id": f"i{i}", "judge_prompt": "p", "response": "<think></think>" + story_words(250, i)}
                              for i in range(5)]}
            async with running_service(cfg, tmp_path) as url:
                first = await post(url, "/v1/score", body)
            calls_after_first = srv.calls
            async with running_service(cfg, tmp_path) as url:
                second = await post(url, "/v1/score", body)
            return first[1], second[1], calls_after_first, srv.calls
        finally:
            await srv.stop()

    first, second, c1, c2 = run(go())
    assert c1 == 5 and c2 == 5  # the restarted service paid nothing again
    assert [r["reward"] for r in first["results"]] == [r["reward"] for r in second["results"]]
    assert all(r["cached"] for r in second["results"])
    audit = (tmp_path / "audit.jsonl").read_text()
    assert len(audit.splitlines()) == 5 and "very-secret-key-xyz" not in audit
    assert "very-secret-key-xyz" not in (tmp_path / "judgments.sqlite").read_bytes().decode("latin-1")


def test_service_config_roundtrip(tmp_path):
    cfg = service_cfg(judge_cfg("http://127.0.0.1:9/v1"), thinking=False)
    p = cfg.write(tmp_path)
    assert p.name == "reward_service.json"
    again = ServiceConfig.load(tmp_path)
    assert again == cfg
    assert again.rubric_spec().name == "polaris-story-quality"
    (tmp_path / "reward_service.json").write_text('{"format": "polaris.reward_service/1", "judge": null, "bogus": 1}')
    from polaris.service import ServiceConfigError

    with pytest.raises(ServiceConfigError, match="bogus"):
        ServiceConfig.load(tmp_path)


def test_from_recipe_demo(tmp_path):
    from polaris.recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "demo.yaml").recipe
    cfg = ServiceConfig.from_recipe(recipe)
    assert cfg.judge == recipe.judge and cfg.reward == recipe.reward
    assert cfg.thinking == recipe.model.thinking and cfg.max_new_tokens == recipe.grpo.max_new_tokens
    assert cfg.rubric_spec().name == cfg.rubric_ref
    assert ServiceConfig.load(cfg.write(tmp_path)) == cfg


def test_get_reward_without_a_judge_refuses_instead_of_answering_zero(tmp_path):
    # --judge none: a reward that needs the judge's SQ must not reach OpenRLHF as 0.0
    async def go(url, srv):
        normal = await post(url, "/get_reward", {"query": [query(story_words(320, 1))], "prompts": [TEMPLATED],
                                                 "labels": [label(1)]})
        malformed = await post(url, "/get_reward", {"query": [TEMPLATED + story_words(320, 2) + "<|im_end|>"],
                                                    "prompts": [TEMPLATED], "labels": [label(2)]})
        return normal, malformed, srv.calls

    (s1, normal), (s2, malformed), calls = run(_with_service(go, tmp=tmp_path, app_kw={"use_judge": False}))
    assert s1 == 422 and "no judge" in normal["error"] and "['s1']" in normal["error"]
    assert "reward.weights.story_quality" in normal["error"]
    # a reward decided without the judge (no </think>: the format floor) is still answered
    assert s2 == 200 and malformed["rewards"][0] < 0 and malformed["extra_logs"]["format_ok"] == [0.0]
    assert calls == 0


def test_v1_score_returns_the_rubric_flags_of_the_judgment(tmp_path):
    made_up = "The brass moon sang a hymn of cinnamon over the harbour."

    def fabricate(obj):
        if isinstance(obj, dict):
            return {k: ([made_up] if isinstance(v, list) else made_up)
                    if ("quote" in k.lower() or "evidence" in k.lower()) else fabricate(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [fabricate(v) for v in obj]
        return obj

    def answer(body, story):
        from openai_server import SchemaFaker

        fmt = body["response_format"]
        schema = fmt.get("json_schema", {}).get("schema") or fmt["schema"]
        return json.dumps(fabricate(SchemaFaker(story, "max").build(schema)))

    async def go(url, srv):
        return await post(url, "/v1/score", {"items": [{"key": "k", "id": "s", "judge_prompt": "Write a story.",
                                                        "target_words": 300,
                                                        "response": "<think></think>" + story_words(300, 5)}]})

    status, body = run(_with_service(go, srv_kw={"answer_fn": answer}, tmp=tmp_path))
    judge = body["results"][0]["judge"]
    assert status == 200 and judge["fabricated_quotes"] >= 1
    assert any("fabricated" in f for f in judge["flags"]["rubric"]) and "label" in judge["flags"]
