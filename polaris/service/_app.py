"""The aiohttp application: ``/get_reward`` (OpenRLHF), ``/v1/score`` (polaris), health, metrics.

Failure policy of ``/get_reward`` (OpenRLHF's stock client cannot express "no reward"): a sample
whose judgment failed gets the composite computed with the mean story-quality of the
*successful* judgments in the same request; if none succeeded, the whole request is answered
``503`` so the client retries it (5 attempts, 1 s apart; finished judgments are cached and not
re-paid). A failure is never scored as 0.
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from polaris.service._config import ServiceConfig
from polaris.service._heap import IdleCollector
from polaris.service._metrics import Metrics
from polaris.service._scorer import Item, ItemResult, RewardScorer

__all__ = ["create_app", "SCORER_KEY", "EXTRA_LOG_KEYS", "extra_log_values"]

log = logging.getLogger("polaris.service")
SCORER_KEY = web.AppKey("scorer", RewardScorer)
TOKEN_KEY = web.AppKey("token", str)
COLLECTOR_KEY = web.AppKey("collector", IdleCollector)

#: Keys of ``extra_logs`` in every /get_reward answer (always all present, always numeric).
EXTRA_LOG_KEYS = (
    "reward", "story_quality", "judged", "judge_failed", "imputed", "cached", "judge_latency_s",
    "judge_cost_usd", "fabricated_quotes",
)


class RequestError(ValueError):
    """A malformed request (answered 400 with this message)."""


def _num(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    return 0.0


_NUMERIC = {"int", "float", "bool", "int | None", "float | None", "bool | None"}


@functools.lru_cache(maxsize=1)
def _component_log_keys() -> tuple[str, ...]:
    """Numeric fields of ``polaris.reward.Components``: the same keys for every sample."""
    import dataclasses

    from polaris.reward import Components

    return tuple(f.name for f in dataclasses.fields(Components) if str(f.type) in _NUMERIC)


def extra_log_values(r: ItemResult) -> dict[str, float]:
    """The numeric per-sample log values: fixed keys first, then every numeric component."""
    j = r.judgment
    out = {
        "reward": _num(r.reward),
        # an imputed sample logs the batch mean its reward used (a 0 would drag the logged mean down)
        "story_quality": _num(r.story_quality if r.story_quality is not None else r.imputed_story_quality),
        "judged": float(j is not None),
        "judge_failed": float(r.failed),
        "imputed": float(r.imputed),
        "cached": float(bool(j and j.cached)),
        "judge_latency_s": _num(j.latency_s if j and not j.cached else 0.0),
        "judge_cost_usd": _num(j.cost_usd if j and not j.cached else 0.0),
        "fabricated_quotes": _num(j.fabricated_quotes if j else 0),
    }
    for k in _component_log_keys():
        if k not in out:
            out[k] = _num(r.components.get(k))
    return out


def _parse_label(raw: Any, i: int) -> dict[str, Any]:
    label = raw
    if isinstance(raw, str):
        try:
            label = json.loads(raw)
        except json.JSONDecodeError as e:
            raise RequestError(f"labels[{i}] is not a JSON object: {e.msg} at char {e.pos}") from None
    if not isinstance(label, dict):
        raise RequestError(f"labels[{i}] must be a JSON object (or a JSON string of one)")
    for k in ("id", "target_words"):
        if k not in label:
            raise RequestError(f"labels[{i}] has no {k!r} (every label needs 'id' and 'target_words')")
    return label


def _split_response(query: str, prompt: str, eot: str) -> tuple[str, bool]:
    """The response part of an OpenRLHF query and whether it ended with the end-of-turn token."""
    if query.startswith(prompt):
        resp = query[len(prompt):]
    else:
        pos = query.find(prompt)
        resp = query[pos + len(prompt):] if pos >= 0 else query[len(prompt):]
    cut = resp.find(eot) if eot else -1
    if cut >= 0:
        return resp[:cut], True
    return resp, False


@functools.lru_cache(maxsize=4096)
def _judge_prompt(prompt: str, templates: tuple[str, ...]) -> str:
    """The prompt as the judge sees it; cached, since a GRPO group's samples share their prompt."""
    from polaris.reward import sanitize_for_judge, strip_length_instruction

    return strip_length_instruction(sanitize_for_judge(prompt), list(templates))


def _items_from_openrlhf(body: dict[str, Any], cfg: ServiceConfig) -> list[Item]:
    q, p, labels = body.get("query"), body.get("prompts"), body.get("labels")
    if not isinstance(q, list) or not isinstance(p, list):
        raise RequestError("expected JSON {'query': [...], 'prompts': [...], 'labels': [...]}")
    if labels is None or len(q) != len(p) or len(labels) != len(q):
        raise RequestError(f"query ({len(q)}), prompts ({len(p)}) and labels ({len(labels or [])}) differ in length")
    items = []
    for i, (query, prompt, raw) in enumerate(zip(q, p, labels)):
        if not isinstance(query, str) or not isinstance(prompt, str):
            raise RequestError(f"query[{i}] and prompts[{i}] must be strings")
        label = _parse_label(raw, i)
        response, finished = _split_response(query, prompt, cfg.end_of_turn_token)
        judge_prompt = label.get("judge_prompt")
        if not judge_prompt:
            judge_prompt = _judge_prompt(prompt, tuple(cfg.length_templates))
        target = label.get("target_words")
        items.append(Item(
            id=str(label["id"]), judge_prompt=judge_prompt, response=response,
            target_words=_target_words(target, f"labels[{i}].target_words"),
            is_reference=bool(label.get("is_reference", False)), truncated=not finished,
            split=_split(label.get("split"), f"labels[{i}].split"),
        ))
    return items


def _items_from_v1(body: dict[str, Any]) -> list[Item]:
    raw = body.get("items")
    if not isinstance(raw, list):
        raise RequestError("expected JSON {'items': [...]}")
    items = []
    for i, it in enumerate(raw):
        if not isinstance(it, dict):
            raise RequestError(f"items[{i}] must be an object")
        missing = [k for k in ("id", "judge_prompt", "response") if k not in it]
        if missing:
            raise RequestError(f"items[{i}] lacks {missing}")
        items.append(Item(
            id=str(it["id"]), key=it.get("key"), judge_prompt=str(it["judge_prompt"]),
            response=str(it["response"]), target_words=_target_words(it.get("target_words"), f"items[{i}].target_words"),
            is_reference=bool(it.get("is_reference", False)), response_tokens=it.get("response_tokens"),
            think_tokens=it.get("think_tokens"), truncated=bool(it.get("truncated", False)),
            split=_split(it.get("split"), f"items[{i}].split"),
        ))
    return items


def _target_words(value: Any, where: str) -> int | None:
    """A target length in words, or a 400 naming the field (a negative or absurd target is a caller bug)."""
    from polaris.reward import target_words_value

    try:
        return target_words_value(value)
    except ValueError as e:
        raise RequestError(f"{where}: {e}") from None


def _split(value: Any, where: str) -> str:
    if value is None:
        return "train"
    if value not in ("train", "eval"):
        raise RequestError(f"{where} must be 'train' or 'eval', got {value!r}")
    return value


async def _read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=lambda s: json.loads(s))
    except json.JSONDecodeError as e:
        raise RequestError(f"request body is not JSON: {e.msg} at char {e.pos}") from None
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    return body


def _bad(msg: str, status: int = 400) -> web.Response:
    return web.json_response({"error": msg}, status=status)


async def get_reward(request: web.Request) -> web.Response:
    scorer = request.app[SCORER_KEY]
    try:
        items = _items_from_openrlhf(await _read_json(request), scorer.cfg)
    except RequestError as e:
        return _bad(str(e))
    results = await scorer.score(items)
    scorer.impute(results)
    unresolved = [r.id for r in results if r.reward is None and r.failed]
    if unresolved:
        scorer.metrics.inc("unavailable_responses")
        reasons = sorted({str(r.flags.get("judge_failure")) for r in results if r.failed})
        return web.json_response(
            {"error": f"judge failed for {unresolved} and no judgment in this request succeeded "
                      f"({', '.join(reasons)}); retry the request"},
            status=503, headers={"Retry-After": "1"},
        )
    unjudged = [r.id for r in results if r.reward is None]
    if unjudged:  # no judge configured (--judge none): a reward that needs one must not become 0
        w = scorer.cfg.reward.weights.story_quality
        return _bad(f"this service has no judge (--judge none) and the reward of {unjudged} needs the judge's "
                    f"story-quality score (reward.weights.story_quality = {w}); start it with a judge, or set "
                    f"reward.weights.story_quality: 0", status=422)
    rewards = [float(r.reward) for r in results]
    logs = [extra_log_values(r) for r in results]
    keys = list(logs[0]) if logs else list(EXTRA_LOG_KEYS)
    return web.json_response({
        "rewards": rewards,
        "scores": rewards,
        "extra_logs": {k: [lg.get(k, 0.0) for lg in logs] for k in keys},
    })


async def v1_score(request: web.Request) -> web.Response:
    scorer = request.app[SCORER_KEY]
    try:
        items = _items_from_v1(await _read_json(request))
    except RequestError as e:
        return _bad(str(e))
    results = await scorer.score(items)
    out = []
    for r in results:
        j = r.judgment
        out.append({
            "key": r.key, "id": r.id, "reward": r.reward, "failed": r.failed,
            "story_quality": r.story_quality, "components": r.components, "flags": r.flags,
            "dimensions": r.dimensions, "cached": bool(j and j.cached),
            "judge": None if j is None else {"latency_s": j.latency_s, "cost_usd": j.cost_usd,
                                             "attempts": j.attempts, "failure_reason": j.failure_reason,
                                             # the rubric's own flags (fabricated or missing quotes,
                                             # bonus zeroed, clamped...), label and raw total
                                             "flags": j.flags, "fabricated_quotes": j.fabricated_quotes},
        })
    return web.json_response({"results": out})


async def healthz(request: web.Request) -> web.Response:
    scorer = request.app[SCORER_KEY]
    return web.json_response({"status": "ok", "judge": scorer.identity if scorer.judge else None,
                              "store": str(scorer.store.path) if scorer.store else None})


async def metrics(request: web.Request) -> web.Response:
    scorer = request.app[SCORER_KEY]
    scorer.metrics.gauges["judgments_in_flight_keys"] = len(scorer._inflight)
    if scorer.store is not None:
        scorer.metrics.gauges["stored_judgments"] = len(scorer.store)
    collector = request.app[COLLECTOR_KEY]
    scorer.metrics.counters["idle_gc_collections"] = collector.collections
    scorer.metrics.counters["backstop_gc_collections"] = collector.backstop_collections
    scorer.metrics.counters["idle_gc_seconds"] = round(collector.seconds, 6)
    return web.Response(text=scorer.metrics.render(), content_type="text/plain", charset="utf-8")


def _authorized(header: str, token: str) -> bool:
    if header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip(), token)
    if header.startswith("Basic "):  # lets a URL like http://user:TOKEN@host work for stock clients
        try:
            _, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return False
        return hmac.compare_digest(pw, token)
    return False


@web.middleware
async def _middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    m: Metrics = request.app[SCORER_KEY].metrics
    token = request.app.get(TOKEN_KEY)
    if token and request.path != "/healthz" and not _authorized(request.headers.get("Authorization", ""), token):
        m.inc("unauthorized")
        return _bad("missing or wrong bearer token", 401)
    name = request.path.strip("/").replace("/", "_") or "root"
    m.inc(f"requests_{name}")
    m.gauges["requests_in_flight"] += 1
    t0 = time.monotonic()
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        m.inc("rejected_too_large")
        raise
    finally:
        m.gauges["requests_in_flight"] -= 1
        m.inc("request_seconds", time.monotonic() - t0)
        collector = request.app[COLLECTOR_KEY]
        collector.tick()
        if m.gauges["requests_in_flight"] == 0:
            collector.quiet()


def create_app(
    cfg: ServiceConfig,
    state_dir: str | Path | None,
    judge_override: Any = None,
    *,
    token: str | None = None,
    use_judge: bool = True,
) -> web.Application:
    """Build the service app. ``judge_override`` replaces the configured judge (tests, ``--judge-url``);
    ``use_judge=False`` scores without any judge; ``token`` (if set) is required as a bearer token."""
    judge = judge_override
    if judge is None and use_judge is False:
        cfg = cfg.model_copy(update={"judge": None})
    scorer = RewardScorer(cfg, state_dir=state_dir, judge=judge)
    app = web.Application(client_max_size=int(cfg.max_request_mb * 1024 * 1024), middlewares=[_middleware])
    app[SCORER_KEY] = scorer
    app[COLLECTOR_KEY] = IdleCollector(lambda: scorer.metrics.gauges["requests_in_flight"] > 0 or bool(scorer._inflight))
    if token:
        app[TOKEN_KEY] = token
    app.router.add_post("/get_reward", get_reward)
    app.router.add_post("/v1/score", v1_score)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    async def _close(app: web.Application) -> None:
        app[COLLECTOR_KEY].cancel()
        await app[SCORER_KEY].aclose()  # waits for running judgments, then closes the DB

    app.on_cleanup.append(_close)
    return app
