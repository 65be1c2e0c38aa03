"""The reward core shared by the HTTP service and the offline ``score``.

``RewardScorer.score(items)`` runs the deterministic components for each item, asks the judge
only when the reward depends on it, and combines. Judgments go through three layers, so that a
story is paid for at most once:

1. the persistent store (SQLite) — finished judgments survive restarts;
2. in-flight de-duplication — one asyncio task per judgment key; a re-sent request (OpenRLHF
   re-sends after its 180 s timeout) joins the running task instead of starting a new one;
3. the judge client (retries, limits, panels).

Imputation is not done here: callers decide (``/get_reward`` and ``score`` use the batch mean,
``/v1/score`` returns ``reward: null`` and lets the HRI executor decide per group).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable

from polaris.judge._types import Judgment
from polaris.reward import Components, composite, compute_components, gate_reasons, impute_batch_mean
from polaris.service._config import ServiceConfig
from polaris.service._metrics import Metrics
from polaris.service._store import AuditLog, JudgmentStore, judgment_key

__all__ = ["Item", "ItemResult", "RewardScorer", "components_dict"]

log = logging.getLogger("polaris.service")


@dataclass
class Item:
    """One response to score (the ``/v1/score`` item shape)."""

    id: str
    judge_prompt: str
    response: str
    target_words: int | None = None
    key: str | None = None
    is_reference: bool = False
    response_tokens: int | None = None
    think_tokens: int | None = None
    truncated: bool = False
    split: str = "train"  # 'eval' rows use reward.eval_weights when the recipe sets them


@dataclass
class ItemResult:
    """Reward and diagnostics of one item. ``reward`` is None when it needs a judge score that failed."""

    key: str | None
    id: str
    reward: float | None
    failed: bool
    story_quality: float | None
    components: dict[str, Any]
    flags: dict[str, Any] = field(default_factory=dict)
    dimensions: dict[str, Any] = field(default_factory=dict)
    judgment: Judgment | None = None
    needs_judge: bool = True
    imputed: bool = False
    imputed_story_quality: float | None = None  # the batch mean the reward used; story_quality stays null
    is_reference: bool = False
    target_words: int | None = None
    comps: Any = None  # the Components object, for re-combination after imputation
    split: str = "train"


_SCALARS = (int, float, bool, str)


def components_dict(comps: Any) -> dict[str, Any]:
    """The Components object as a flat dict of JSON-ready values."""
    if type(comps) is Components:  # fast path, same result: the scalar fields in field order, no story
        out = {}
        for f in dataclasses.fields(comps):
            v = getattr(comps, f.name)
            if f.name != "story" and (isinstance(v, _SCALARS) or v is None):
                out[f.name] = v
        return out
    if hasattr(comps, "to_dict"):
        d = comps.to_dict()
    elif dataclasses.is_dataclass(comps):
        d = dataclasses.asdict(comps)
    elif hasattr(comps, "model_dump"):
        d = comps.model_dump()
    else:
        d = dict(vars(comps))
    return {k: v for k, v in d.items() if isinstance(v, (int, float, bool, str)) or v is None}


# Loop steps a newly started judge call takes from its task's start to its request on the wire
# (prompt, retry wrapper, slot, SDK request, connection, body write in a task of its own): the
# intake that started it waits this many steps before letting the next intake in (see score_one).
_SEND_STEPS = 24


async def _ready(value: Judgment) -> Judgment:
    return value


class RewardScorer:
    """Components + judge + composite for batches of items. One per process; async-safe."""

    def __init__(
        self,
        cfg: ServiceConfig,
        *,
        state_dir: str | Path | None = None,
        judge: Any = None,
        metrics: Metrics | None = None,
        spec: Any = None,
    ) -> None:
        self.cfg = cfg
        self.spec = spec if spec is not None else cfg.rubric_spec()
        self.metrics = metrics or Metrics()
        if judge is None and cfg.judge is not None:
            from polaris.judge import JudgeClient

            judge = JudgeClient(cfg.judge, self.spec)
        self.judge = judge  # None = no judge (story_quality stays null)
        self.store: JudgmentStore | None = None
        self.audit: AuditLog | None = None
        if state_dir is not None:
            sd = Path(state_dir)
            sd.mkdir(parents=True, exist_ok=True)
            self.store = JudgmentStore(sd / "judgments.sqlite")
            self.audit = AuditLog(sd / "audit.jsonl")
        self._inflight: dict[str, asyncio.Task[Judgment]] = {}
        self._intake = asyncio.Lock()  # see score_one

    # -- judgments ----------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return getattr(self.judge, "identity", type(self.judge).__name__)

    async def _run_judgment(self, key: str, sample_id: str, judge_prompt: str, story: str) -> Judgment:
        self.metrics.inc("judge_calls")
        self.metrics.gauges["judge_in_flight"] += 1
        try:
            j = await self.judge.judge(judge_prompt, story)
        except Exception as e:  # a bug or an unexpected client error must still be a failure, not a 0
            log.exception("judge raised for %s", sample_id)
            j = Judgment(value=None, failed=True, failure_reason=f"exception:{type(e).__name__}")
        finally:
            self.metrics.gauges["judge_in_flight"] -= 1
        self.metrics.observe_latency(j.latency_s)
        self.metrics.inc("judge_prompt_tokens", j.prompt_tokens)
        self.metrics.inc("judge_completion_tokens", j.completion_tokens)
        self.metrics.inc("judge_cost_usd", j.cost_usd)
        if j.failed:
            self.metrics.inc("judge_failures")
        if self.store is not None:
            self.store.put(key, self.identity, j)
        if self.audit is not None:
            self.audit.write(key, sample_id, j)
        return j

    async def judgment(self, sample_id: str, judge_prompt: str, story: str) -> Judgment:
        """The judgment for (prompt, story): stored, joined in flight, or made now."""
        return await self._awaitable_judgment(sample_id, judge_prompt, story)[0]

    def _awaitable_judgment(self, sample_id: str, judge_prompt: str,
                            story: str) -> tuple[Awaitable[Judgment], bool]:
        """``judgment`` up to the wait: the stored answer, or the running judgment (started now if
        needed), as something to await, and whether a judgment was started."""
        key = judgment_key(self.identity, judge_prompt, story)
        if self.store is not None:
            hit = self.store.get(key)
            if hit is not None:
                self.metrics.inc("cache_hits")
                return _ready(hit), False
        task = self._inflight.get(key)
        started = task is None
        if task is not None:
            self.metrics.inc("inflight_joins")
        else:
            task = asyncio.ensure_future(self._run_judgment(key, sample_id, judge_prompt, story))
            self._inflight[key] = task
            task.add_done_callback(lambda _t, k=key: self._inflight.pop(k, None))
        # shield: a client that disconnects cancels its handler, never the shared judgment
        return asyncio.shield(task), started

    # -- scoring ------------------------------------------------------------------------------
    def _components(self, item: Item) -> tuple[Any, str]:
        cfg = self.cfg
        comps = compute_components(
            item.response,
            target_words=item.target_words,
            cfg=cfg.reward,
            thinking=cfg.thinking,
            word_rule=cfg.word_rule,
            think_cap_tokens=cfg.think_cap_tokens,
            response_tokens=item.response_tokens,
            think_tokens=item.think_tokens,
            finished_properly=not item.truncated,
            max_new_tokens=cfg.max_new_tokens,
        )
        return comps, comps.story

    def _reward_cfg(self, split: str) -> Any:
        """The reward section for a row of `split`: eval rows use reward.eval_weights when set."""
        reward = self.cfg.reward
        if split != "eval" or reward.eval_weights is None:
            return reward
        cached = getattr(self, "_eval_reward", None)
        if cached is None:
            cached = self._eval_reward = reward.model_copy(update={"weights": reward.eval_weights})
        return cached

    def _needs_judge(self, comps: Any, split: str = "train") -> bool:
        """False when the reward does not depend on the judge (floored, or SQ weight 0)."""
        reward = self._reward_cfg(split)
        if reward.weights.story_quality == 0:
            return False
        return composite(None, comps, reward) is None

    def combine(self, res: ItemResult, story_quality: float | None) -> float | None:
        """Composite reward for ``res`` given a (possibly imputed) story-quality value (gates applied)."""
        gates = gate_reasons(self.cfg.reward.gate, res.dimensions, res.comps.words, res.target_words,
                             is_reference=res.is_reference) if res.dimensions or res.target_words else []
        if gates:
            res.flags["gated"] = gates
        return composite(story_quality, res.comps, self._reward_cfg(res.split), gated=bool(gates))

    async def score_one(self, item: Item) -> ItemResult:
        t0 = time.monotonic()
        # Intake (components, prompt, store lookup) runs one sample at a time, and a sample that
        # starts a judgment keeps the turn for a few loop steps while its call goes out. Otherwise a
        # burst of a thousand samples puts a thousand CPU-heavy intakes on the ready queue, and the
        # judge calls already started wait behind all of them at every await on their way to the
        # wire: the endpoint idles while we parse (0.81 -> 0.91 of ideal in
        # benchmarks/reward_throughput.py). The results are the same; only the order of work changes.
        async with self._intake:
            comps, story = self._components(item)
            res = ItemResult(key=item.key, id=item.id, reward=None, failed=False, story_quality=None,
                             components=components_dict(comps), comps=comps, is_reference=item.is_reference,
                             target_words=item.target_words, split=item.split)
            if comps.injection_reasons:
                res.flags["injection_reasons"] = list(comps.injection_reasons)
            if comps.format_problem:
                res.flags["format_problem"] = comps.format_problem
            res.needs_judge = self._needs_judge(comps, item.split)
            pending, started = (self._awaitable_judgment(item.id, item.judge_prompt, story)
                                if res.needs_judge and self.judge is not None else (None, False))
            if started:
                for _ in range(_SEND_STEPS):
                    await asyncio.sleep(0)
        if pending is not None:
            j = await pending
            res.judgment = j
            res.dimensions = dict(j.per_dimension)
            res.story_quality = j.value
            res.failed = j.failed
            if j.failed:
                res.flags["judge_failure"] = j.failure_reason
        elif res.needs_judge:
            res.failed = False  # no judge configured: reward stays null, not a failure
        res.reward = self.combine(res, res.story_quality)
        self.metrics.inc("samples")
        res.components.setdefault("score_latency_s", round(time.monotonic() - t0, 4))
        return res

    async def score(self, items: list[Item]) -> list[ItemResult]:
        """Score items concurrently (order preserved). Never raises for judge failures."""
        if len(items) == 1:  # OpenRLHF sends one sample per request: no task for it, one loop step sooner
            return [await self.score_one(items[0])]
        return list(await asyncio.gather(*(self.score_one(it) for it in items)))

    def impute(self, results: list[ItemResult]) -> int:
        """Reward failed judgments with the mean SQ of this batch's successful ones (in place).

        ``story_quality`` stays null (the judge gave none); the mean goes to
        ``imputed_story_quality`` and into the reward. Returns how many were imputed; 0 with nothing
        to impute from (those stay failed).
        """
        idx = [i for i, r in enumerate(results) if r.needs_judge and self.judge is not None]
        if not idx:
            return 0
        try:
            values, n = impute_batch_mean([results[i].story_quality for i in idx])
        except ValueError:  # every judgment failed: nothing to impute from, they stay failed
            return 0
        if n == 0:
            return 0
        for i, v in zip(idx, values):
            r = results[i]
            if r.failed and v is not None:
                r.imputed_story_quality = v
                r.imputed = True
                r.reward = self.combine(r, v)
        return n

    async def aclose(self) -> None:
        pending = [t for t in self._inflight.values() if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.judge is not None and hasattr(self.judge, "aclose"):
            await self.judge.aclose()
        if self.store is not None:
            self.store.close()
        if self.audit is not None:
            self.audit.close()
