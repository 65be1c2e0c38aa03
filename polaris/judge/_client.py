"""The judge client: one story in, one :class:`Judgment` out (single judge or panel).

Per member: build the hardened prompt, call the endpoint (retries inside :class:`Backend`),
parse the answer with the rubric's own parser (range checks, no extra keys), re-ask once with
the problem spelled out if the answer is unusable, then let the rubric recompute the score from
the per-dimension integers (the judge's own totals are never trusted).

Panels: each member scores independently; the members' final normalised values are combined
with ``combine`` (weighted mean, median or min); per-dimension scores are reported as the
weighted mean over the members that answered (for logging, not for the reward).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import statistics
import time
from typing import Any

from polaris.judge._backend import Backend
from polaris.judge._prompt import _compose, _Static, judge_view, reask_message
from polaris.judge._types import JudgeCallError, Judgment, MemberResult
from polaris.rubric import AnswerError, answer_schema, parse_answer, rubric_hash, score_answer
from polaris.schema.judge import JudgeConfig
from polaris.schema.rubric import RubricSpec

__all__ = ["JudgeClient", "parse_json_lenient"]

#: Bumped when the code that turns an answer into a stored score changes (quote matching, the
#: rubric's formulas), so judgments stored by an older revision are not reused.
SCORING_REVISION = 2

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def parse_json_lenient(text: str) -> Any:
    """Parse a judge's JSON answer: code fences allowed, raw newlines inside strings allowed.

    Local servers (llama.cpp) emit literal newlines in strings; ``strict=False`` accepts them.
    Nothing else is guessed: prose around the JSON is an invalid answer, not something to mine
    for a number.
    """
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    return json.loads(text, strict=False)


def _rationale(answer: Any) -> dict[str, str]:
    """Per-dimension justifications from a parsed answer, whatever its exact shape."""
    out: dict[str, str] = {}
    dims = getattr(answer, "dimensions", None)
    if isinstance(dims, dict):
        items = dims.items()
    elif isinstance(dims, list):
        items = ((getattr(d, "id", str(i)), d) for i, d in enumerate(dims))
    else:
        return out
    for key, d in items:
        text = getattr(d, "justification", None) or getattr(d, "rationale", None)
        if text is None and isinstance(d, dict):
            text = d.get("justification") or d.get("rationale")
        if text:
            out[str(key)] = str(text)
    return out


class JudgeClient:
    """Scores stories against one rubric with the configured judge(s). Share one per process."""

    def __init__(self, cfg: JudgeConfig, spec: RubricSpec) -> None:
        self.cfg = cfg
        self.spec = spec
        self.schema = answer_schema(spec)
        self._static = _Static(spec, self.schema)  # rendered once, not per call
        self.rubric_hash = rubric_hash(spec)
        self.backends = [Backend(m, cfg) for m in cfg.members()]
        self.stats: dict[str, float] = {
            "judgments": 0, "failures": 0, "member_calls": 0, "reasks": 0,
            "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
        }

    @functools.cached_property
    def identity(self) -> str:
        """What a cached judgment depends on besides prompt and story: models, rubric, combine rule,
        the fabricated-quote policy (applied before storing) and what is sent besides the messages
        (sampling, each member's extra_body), the latter as a digest. Computed once: every judgment's
        store key needs it."""
        members = ",".join(f"{b.backend.model}@{b.backend.base_url}*{b.backend.weight}" for b in self.backends)
        sent = json.dumps({"sampling": self.cfg.sampling.model_dump(mode="json"),
                           "extra_body": [b.backend.extra_body for b in self.backends]}, sort_keys=True, default=str)
        digest = hashlib.sha256(sent.encode()).hexdigest()[:16]
        return (f"{members}|{self.cfg.combine}|{self.rubric_hash}|quotes:{self.cfg.fabricated_quote_policy}"
                f"|sent:{digest}|scoring:{SCORING_REVISION}")

    @property
    def in_flight(self) -> int:
        return sum(b.in_flight for b in self.backends)

    async def aclose(self) -> None:
        for b in self.backends:
            await b.aclose()

    async def _member(self, backend: Backend, judge_prompt: str, story: str) -> MemberResult:
        res = MemberResult(model=backend.backend.model, base_url=backend.backend.base_url, value=None, failed=True)
        messages = _compose(self._static, judge_prompt, story)
        t0 = time.monotonic()
        max_asks = 2 if self.cfg.reask_on_invalid else 1
        try:
            for ask in range(max_asks):
                comp = await backend.complete(messages, self.schema)
                res.attempts += comp.attempts
                res.prompt_tokens += comp.prompt_tokens
                res.completion_tokens += comp.completion_tokens
                self.stats["member_calls"] += 1
                problem: str | None = None
                try:
                    obj = parse_json_lenient(comp.content)
                    answer = parse_answer(self.spec, obj)
                except json.JSONDecodeError as e:
                    problem = f"the answer is not valid JSON ({e.msg} at char {e.pos})"
                except AnswerError as e:
                    problem = str(e)
                if problem is not None and comp.finish_reason == "length":
                    problem += " (the answer was cut off at max_tokens: be more concise)"
                if problem is None:
                    # quotes are checked against the text the judge saw, not the raw response
                    score = score_answer(self.spec, answer, judge_view(story),
                                         fabricated_quote_policy=self.cfg.fabricated_quote_policy)
                    res.value = float(score.value)
                    res.per_dimension = dict(score.per_dimension)
                    res.fabricated_quotes = len(score.fabricated_quotes)
                    res.flags = {"rubric": list(score.flags), "label": score.label,
                                 "raw_total": score.raw_total}
                    if answer.ignored:
                        res.flags["judge_totals_ignored"] = sorted(answer.ignored)
                    res.rationale = _rationale(answer)
                    res.failed = False
                    break
                res.failure_reason = "truncated_answer" if comp.finish_reason == "length" else "invalid_answer"
                if ask + 1 < max_asks:
                    res.reasks += 1
                    self.stats["reasks"] += 1
                    messages = messages + [{"role": "assistant", "content": comp.content[:4000]},
                                           reask_message(problem)]
                else:
                    res.flags["last_problem"] = problem[:300]
        except JudgeCallError as e:
            res.failure_reason = e.reason
            res.attempts += e.attempts
            res.flags["error"] = str(e)[:300]
        res.latency_s = time.monotonic() - t0
        res.cost_usd = backend.cost(res.prompt_tokens, res.completion_tokens)
        return res

    def _combine(self, members: list[MemberResult]) -> tuple[float | None, dict[str, float | None]]:
        ok = [(m, b.backend.weight) for m, b in zip(members, self.backends) if not m.failed and m.value is not None]
        if not ok:
            return None, {}
        values = [m.value for m, _ in ok]
        if self.cfg.combine == "median":
            value = statistics.median(values)  # type: ignore[arg-type]
        elif self.cfg.combine == "min":
            value = min(values)  # type: ignore[type-var]
        else:
            total = sum(w for _, w in ok)
            value = sum(m.value * w for m, w in ok) / total  # type: ignore[operator]
        dims: dict[str, float | None] = {}
        for key in ok[0][0].per_dimension:
            pairs = [(m.per_dimension.get(key), w) for m, w in ok if m.per_dimension.get(key) is not None]
            dims[key] = (sum(v * w for v, w in pairs) / sum(w for _, w in pairs)) if pairs else None  # type: ignore[operator]
        return value, dims

    async def judge(self, judge_prompt: str, story: str) -> Judgment:
        """Judge one story. Never raises for judge trouble: failures come back as ``failed=True``."""
        t0 = time.monotonic()
        if len(self.backends) == 1:  # a single judge: no extra task, the call goes out one loop step sooner
            members = [await self._member(self.backends[0], judge_prompt, story)]
        else:
            members = list(await asyncio.gather(*(self._member(b, judge_prompt, story) for b in self.backends)))
        need = self.cfg.panel.min_successful if self.cfg.panel is not None else 1
        n_ok = sum(not m.failed for m in members)
        value, dims = self._combine(members) if n_ok >= need else (None, {})
        failed = value is None
        reason = None
        if failed:
            reasons = sorted({m.failure_reason or "unknown" for m in members if m.failed})
            reason = ",".join(reasons) if n_ok == 0 else f"quorum_not_met({n_ok}/{need}):{','.join(reasons)}"
        j = Judgment(
            value=value,
            failed=failed,
            failure_reason=reason,
            per_dimension=dims,
            rationale=members[0].rationale if len(members) == 1 else
            {f"{m.model}:{k}": v for m in members for k, v in m.rationale.items()},
            flags={k: v for m in members for k, v in m.flags.items()} if len(members) == 1 else
            {m.model: m.flags for m in members},
            fabricated_quotes=sum(m.fabricated_quotes for m in members),
            latency_s=time.monotonic() - t0,
            prompt_tokens=sum(m.prompt_tokens for m in members),
            completion_tokens=sum(m.completion_tokens for m in members),
            cost_usd=sum(m.cost_usd for m in members),
            attempts=sum(m.attempts for m in members),
            members=members,
        )
        self.stats["judgments"] += 1
        self.stats["failures"] += int(failed)
        self.stats["prompt_tokens"] += j.prompt_tokens
        self.stats["completion_tokens"] += j.completion_tokens
        self.stats["cost_usd"] += j.cost_usd
        return j
