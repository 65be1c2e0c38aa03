"""The judge client against a real small LLM (llama.cpp server, Gemma 3 270M base).

The model cannot judge; these tests check what the client does with a real server's real
answers: the json_schema → json_object+schema fallback, parsing and validation against the
rubric, range enforcement on the client side, token and latency accounting.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from llm_helpers import demo_excerpts, write_recipe

from polaris.judge import JudgeClient, Judgment, parse_json_lenient
from polaris.service import load_service_config

pytestmark = [pytest.mark.llm, pytest.mark.slow]

DIMS = ("C1", "C2")


def _setup(tmp_path: Path, url: str, **judge_changes: Any) -> tuple[Any, Any]:
    """Judge config and rubric exactly as the test recipe resolves them (plus changes)."""
    cfg = load_service_config(write_recipe(tmp_path / "recipe.yaml", url))
    judge = cfg.judge.model_copy(update=judge_changes) if judge_changes else cfg.judge
    return judge, cfg.rubric_spec()


def _spy(client: JudgeClient) -> list[dict[str, Any]]:
    """Record every completion the (real) backend returns, with the messages that were sent."""
    backend = client.backends[0]
    real = backend.complete
    seen: list[dict[str, Any]] = []

    async def complete(messages: list[dict[str, str]], schema: dict[str, Any]) -> Any:
        comp = await real(messages, schema)
        seen.append({"messages": messages, "content": comp.content, "finish_reason": comp.finish_reason,
                     "prompt_tokens": comp.prompt_tokens, "completion_tokens": comp.completion_tokens})
        return comp

    backend.complete = complete  # type: ignore[method-assign]
    return seen


def _judge_all(client: JudgeClient, stories: list[dict[str, Any]]) -> list[Judgment]:
    async def go() -> list[Judgment]:
        try:
            # one at a time: the server is serial anyway, and the first call alone meets the fallback
            return [await client.judge(s["prompt"], s["story"]) for s in stories]
        finally:
            await client.aclose()

    return asyncio.run(go())


def _server_500s(log: Path | None) -> int | None:
    if log is None:
        return None
    text = log.read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines() if "/v1/chat/completions" in line and " 500" in line)


def _raw_scores(content: str) -> dict[str, Any] | None:
    """Per-dimension raw scores of an answer, or None when it is not a JSON object of objects."""
    try:
        obj = parse_json_lenient(content)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return {k: (v.get("score") if isinstance(v, dict) else None) for k, v in obj.items()}


def _check_accounting(j: Judgment, calls: list[dict[str, Any]], story_words: int, max_tokens: int) -> None:
    assert j.latency_s > 0 and j.members[0].latency_s > 0
    assert j.members[0].latency_s <= j.latency_s + 1e-6
    # tokens are the server's usage figures, summed over every call made for this judgment
    assert j.prompt_tokens == sum(c["prompt_tokens"] for c in calls)
    assert j.completion_tokens == sum(c["completion_tokens"] for c in calls)
    assert j.prompt_tokens > story_words  # the prompt holds the whole story plus the rubric
    assert 0 < j.completion_tokens <= max_tokens * len(calls)
    assert j.attempts >= len(calls)


def test_auto_structured_output_falls_back_and_answers_are_validated(tmp_path, llm_server, llm_server_log):
    judge_cfg, spec = _setup(tmp_path, llm_server)
    assert judge_cfg.structured_output == "auto"
    stories = demo_excerpts(2)
    client = JudgeClient(judge_cfg, spec)
    backend = client.backends[0]
    before_500 = _server_500s(llm_server_log)
    calls = _spy(client)
    judgments = _judge_all(client, stories)

    # llama.cpp rejected json_schema once; the client switched for good to json_object+schema
    assert backend.format_mode == "json_object"
    assert backend.http_calls == len(calls) + 1
    if before_500 is not None:
        assert _server_500s(llm_server_log) - before_500 == 1
    per_story: list[list[dict[str, Any]]] = []
    i = 0
    for j in judgments:
        n = 1 + j.members[0].reasks
        per_story.append(calls[i:i + n])
        i += n
    assert i == len(calls)
    # the schema reached the server's grammar: every finished answer has exactly the rubric's shape
    # and respects its maxLength/maxItems (a base model left to itself never writes this)
    for c in calls:
        if c["finish_reason"] != "stop":
            continue
        obj = parse_json_lenient(c["content"])
        assert set(obj) == set(DIMS), c["content"]
        for d in DIMS:
            assert set(obj[d]) == {"score", "justification", "quotes"}
            assert len(obj[d]["justification"]) <= spec.justification_max_chars
            assert len(obj[d]["quotes"]) <= spec.quotes.max_items
            assert all(len(q) <= spec.quotes.max_chars for q in obj[d]["quotes"])

    for j, s, made in zip(judgments, stories, per_story):
        _check_accounting(j, made, s["words"], judge_cfg.sampling.max_tokens)
        if j.failed:  # the tiny model may produce garbage: a failure, reported as one
            assert j.value is None and j.failure_reason
            continue
        assert 0.0 <= j.value <= 1.0
        assert set(j.per_dimension) == set(DIMS)
        # a single judge's per-dimension values are its integers (as floats, like a panel's means)
        assert all(v == int(v) and 1 <= v <= 5 for v in j.per_dimension.values())
        # the accepted answer is the last one, it is valid JSON, and its scores are what was used
        assert made[-1]["finish_reason"] == "stop"
        raw = _raw_scores(made[-1]["content"])
        assert raw is not None and set(raw) >= set(DIMS)
        assert all(isinstance(raw[d], int) and 1 <= raw[d] <= 5 for d in DIMS)
        # used as given, except a favourable score resting on a fabricated quote (capped, and flagged)
        for d in DIMS:
            down = [f for f in j.flags.get("rubric", []) if f.startswith(f"downgraded:{d}:")]
            if down:
                assert down[0] == f"downgraded:{d}:{raw[d]}->{int(j.per_dimension[d])}" and j.per_dimension[d] < raw[d]
            else:
                assert j.per_dimension[d] == raw[d]
    stats = client.stats
    assert stats["judgments"] == 2 and stats["member_calls"] == len(calls)
    assert stats["prompt_tokens"] == sum(j.prompt_tokens for j in judgments)
    assert stats["completion_tokens"] == sum(j.completion_tokens for j in judgments)


def test_out_of_range_scores_are_reasked_then_failed(tmp_path, llm_server):
    """The range check is the client's own, whatever the server's grammar allows.

    The schema sent to the server is altered so the grammar *forces* scores outside the rubric's
    1..5 (llama.cpp enforces ``enum``), which makes the real model's answers out of range every
    time: the client must re-ask once, saying what was wrong, then fail — never accept or clamp.
    """
    judge_cfg, spec = _setup(tmp_path, llm_server, structured_output="json_object")
    assert judge_cfg.reask_on_invalid
    client = JudgeClient(judge_cfg, spec)
    schema = copy.deepcopy(client.schema)
    for prop in schema["properties"].values():
        prop["properties"]["score"] = {"type": "integer", "enum": [0, 6, 9]}
    client.schema = schema
    calls = _spy(client)
    (story,) = demo_excerpts(1, skip=2)
    (j,) = _judge_all(client, [story])

    assert len(calls) == 2 and j.members[0].reasks == 1
    for c in calls:  # the real model answered, within the forced grammar
        raw = _raw_scores(c["content"])
        assert raw is not None and all(raw[d] in (0, 6, 9) for d in DIMS), c["content"]
    follow_up = calls[1]["messages"][-1]
    assert follow_up["role"] == "user" and "could not be used" in follow_up["content"]
    assert "outside 1..5" in follow_up["content"]
    assert calls[1]["messages"][-2] == {"role": "assistant", "content": calls[0]["content"]}
    assert j.failed and j.value is None and j.per_dimension == {}
    assert j.failure_reason == "invalid_answer" and "outside 1..5" in j.flags["last_problem"]
    _check_accounting(j, calls, story["words"], judge_cfg.sampling.max_tokens)
    assert client.stats["failures"] == 1 and client.stats["reasks"] == 1


def test_strict_json_schema_rejected_is_a_failure_not_a_zero(tmp_path, llm_server):
    """structured_output: json_schema has no fallback: llama.cpp's rejection makes the judgment fail."""
    judge_cfg, spec = _setup(tmp_path, llm_server, structured_output="json_schema")
    client = JudgeClient(judge_cfg, spec)
    (j,) = _judge_all(client, demo_excerpts(1))
    assert j.failed and j.value is None
    assert j.failure_reason and j.failure_reason.startswith("http_")
    assert client.backends[0].format_mode == "json_schema"
    assert j.completion_tokens == 0 and client.stats["failures"] == 1
