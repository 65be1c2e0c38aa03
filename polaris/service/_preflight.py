"""``polaris preflight``: judge a few data items before paying for a run.

Judges ``n`` human references from the recipe's data (and, with ``--policy-url``, a few policy
samples per prompt from an OpenAI-compatible endpoint serving the policy), then reports
per-dimension means, the parse-failure rate, latency percentiles, the reference-vs-policy gap,
within-group spread of policy scores (GRPO needs spread to learn anything), and a cost forecast
for the whole run (judgments per run × mean cost per judgment).
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polaris.service._config import ServiceConfig
from polaris.service._scorer import Item, ItemResult, RewardScorer

__all__ = ["PreflightReport", "preflight_async", "run_preflight", "format_report", "recipe_rows"]


@dataclass
class PreflightReport:
    """What preflight measured. Means over successful judgments; percentiles over all calls."""

    n_reference: int = 0
    n_policy: int = 0
    failures: int = 0
    judgments: int = 0
    failure_reasons: dict[str, int] = field(default_factory=dict)
    reference_sq: list[float] = field(default_factory=list)
    policy_sq: list[float] = field(default_factory=list)
    dims_reference: dict[str, float] = field(default_factory=dict)
    dims_policy: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    within_group_std: float | None = None
    mean_cost_usd: float = 0.0
    mean_tokens: float = 0.0
    run_judgments: int | None = None
    answers: int = 0  # judge answers received (a re-ask is a second answer)
    parse_failures: int = 0  # answers that were not valid JSON for the rubric (re-asked or failed)
    policy_without_think: int = 0  # thinking on, but the policy server returned no reasoning at all

    @property
    def failure_rate(self) -> float:
        """Judgments that failed for good (after retries and the re-ask)."""
        return self.failures / self.judgments if self.judgments else 0.0

    @property
    def parse_failure_rate(self) -> float:
        """Judge answers that were unusable for the rubric (each one costs a re-ask or the judgment)."""
        return self.parse_failures / self.answers if self.answers else 0.0

    @property
    def gap(self) -> float | None:
        if self.reference_sq and self.policy_sq:
            return statistics.fmean(self.reference_sq) - statistics.fmean(self.policy_sq)
        return None

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _dim_means(results: list[ItemResult]) -> dict[str, float]:
    acc: dict[str, list[float]] = {}
    for r in results:
        for k, v in r.dimensions.items():
            if v is not None:
                acc.setdefault(k, []).append(float(v))
    return {k: statistics.fmean(v) for k, v in acc.items()}


_PARSE_FAILURES = ("invalid_answer", "truncated_answer")


async def _policy_samples(url: str, model: str, prompt: str, k: int, max_tokens: int,
                          thinking: bool) -> list[tuple[str, bool]]:
    """k policy outputs as (full response, had reasoning). With thinking on, a server that
    separates the reasoning (``reasoning_content``) gets it put back in front of ``</think>``, as
    the policy emits it in training; one that returns no reasoning at all gets an empty block, so
    the story is judged rather than floored for a format the server changed."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="unused", max_retries=2, timeout=600)
    try:
        resp = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], n=k, max_tokens=max_tokens, temperature=1.0)
    finally:
        await client.close()
    out = []
    for c in resp.choices:
        content = c.message.content or ""
        if not thinking or "</think>" in content:
            out.append((content, True))
            continue
        reasoning = getattr(c.message, "reasoning_content", None) or (c.message.model_extra or {}).get(
            "reasoning_content")
        out.append((f"<think>\n{reasoning or ''}\n</think>\n{content}", bool(reasoning)))
    return out


async def preflight_async(
    cfg: ServiceConfig,
    rows: list[dict[str, Any]],
    *,
    n: int = 8,
    policy_url: str | None = None,
    policy_model: str = "policy",
    policy_samples: int = 4,
    run_judgments: int | None = None,
    judge: Any = None,
    state_dir: str | Path | None = None,
) -> PreflightReport:
    """Judge up to ``n`` rows' references (and policy samples). ``rows``: id, prompt, judge_prompt,
    target_words, reference (may be None)."""
    from polaris.reward import strip_length_instruction

    scorer = RewardScorer(cfg, state_dir=state_dir, judge=judge)
    if scorer.judge is None:
        raise ValueError("preflight needs a judge: the configuration has none")
    rep = PreflightReport(run_judgments=run_judgments)
    chosen = rows[:n]
    ref_items = []
    for r in chosen:
        jp = r.get("judge_prompt") or strip_length_instruction(r["prompt"], cfg.length_templates)
        if r.get("reference"):
            resp = f"<think>\n</think>\n{r['reference']}" if cfg.thinking else r["reference"]
            ref_items.append(Item(id=f"{r['id']}#ref", judge_prompt=jp, response=resp,
                                  target_words=r.get("target_words"), is_reference=True))
    try:
        ref_results = await scorer.score(ref_items)
        groups: list[list[ItemResult]] = []
        if policy_url:
            max_tok = cfg.max_new_tokens or 8192
            texts = await asyncio.gather(*(_policy_samples(policy_url, policy_model, r["prompt"], policy_samples,
                                                           max_tok, cfg.thinking) for r in chosen))
            for r, outs in zip(chosen, texts):
                jp = r.get("judge_prompt") or strip_length_instruction(r["prompt"], cfg.length_templates)
                rep.policy_without_think += sum(not had for _, had in outs)
                items = [Item(id=f"{r['id']}#{i}", judge_prompt=jp, response=t, target_words=r.get("target_words"))
                         for i, (t, _) in enumerate(outs)]
                groups.append(await scorer.score(items))
    finally:
        await scorer.aclose()
    pol_results = [x for g in groups for x in g]
    rep.n_reference, rep.n_policy = len(ref_results), len(pol_results)
    judged = [x for x in ref_results + pol_results if x.judgment is not None]
    rep.judgments = len(judged)
    for x in judged:
        j = x.judgment
        assert j is not None
        rep.latencies.append(j.latency_s)
        for m in j.members:
            final_parse_failure = m.failed and m.failure_reason in _PARSE_FAILURES
            rep.parse_failures += m.reasks + int(final_parse_failure)
            rep.answers += m.reasks + int(not m.failed or final_parse_failure)
        if j.failed:
            rep.failures += 1
            rep.failure_reasons[j.failure_reason or "unknown"] = rep.failure_reasons.get(j.failure_reason or "unknown", 0) + 1
    rep.reference_sq = [x.story_quality for x in ref_results if x.story_quality is not None]
    rep.policy_sq = [x.story_quality for x in pol_results if x.story_quality is not None]
    rep.dims_reference, rep.dims_policy = _dim_means(ref_results), _dim_means(pol_results)
    stds = [statistics.pstdev(v) for g in groups if len(v := [x.story_quality for x in g if x.story_quality is not None]) > 1]
    rep.within_group_std = statistics.fmean(stds) if stds else None
    ok = [x.judgment for x in judged if x.judgment and not x.judgment.failed]
    if ok:
        rep.mean_cost_usd = statistics.fmean(j.cost_usd for j in ok)
        rep.mean_tokens = statistics.fmean(j.prompt_tokens + j.completion_tokens for j in ok)
    return rep


def recipe_rows(loaded: Any, data: str | Path | None = None, references: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows (id, prompt, judge_prompt, target_words, reference) prepared from the recipe's local training file.

    Uses the same preparation as the compiler (`polaris.data.prepare_rows`): field mapping, length
    instruction, filters and the reference join, with paths resolved against the recipe files.
    """
    from polaris.data import RowSpec, prepare_rows, read_table
    from polaris.resolve import resolve_recipe_path

    override, data = data, loaded.recipe.data
    src = data.train
    if override is None and (src.path is None or src.location != "local"):
        raise ValueError("preflight reads a local training file (data.train.path with location: local); this "
                         "recipe's data is on the cluster or the hub — pass --data with a local JSONL/Parquet "
                         "export of it (same fields)")
    refs = None
    if references is not None:  # a local copy of references that live on the cluster
        refs = list(read_table(Path(references), "auto"))
    elif data.references is not None and data.references.location == "local":
        ref_path = resolve_recipe_path(loaded, "data.references.path", data.references.path)
        refs = list(read_table(ref_path, data.references.format))
    path = Path(override) if override is not None else resolve_recipe_path(loaded, "data.train.path", src.path)
    prepared = prepare_rows(read_table(path, "auto" if override is not None else src.format),
                            RowSpec.from_recipe(loaded.recipe), split="train", references=refs, source=str(path))
    return [
        {"id": r["id"], "prompt": r["messages"][-1]["content"], "judge_prompt": r["label"]["judge_prompt"],
         "target_words": r["label"]["target_words"], "reference": r["label"].get("reference")}
        for r in prepared.rows
    ]


def run_preflight(recipe_path: str | Path, *, n: int = 8, policy_url: str | None = None, data: str | Path | None = None,
                  references: str | Path | None = None,
                  policy_model: str = "policy", judge: Any = None, cfg: ServiceConfig | None = None,
                  state_dir: str | Path | None = None) -> PreflightReport:
    """Load a recipe, pick its first ``n`` rows, run :func:`preflight_async`."""
    from polaris.recipe import load_recipe

    from polaris.resolve import rubric_ref

    loaded = load_recipe(str(recipe_path))
    recipe = loaded.recipe
    cfg = cfg or ServiceConfig.from_recipe(recipe, rubric_ref=rubric_ref(loaded))
    rows = recipe_rows(loaded, data, references)
    g = recipe.grpo
    run_judgments = len(rows) * g.num_episodes * g.samples_per_prompt
    if recipe.data.max_samples:
        run_judgments = min(len(rows), recipe.data.max_samples) * g.num_episodes * g.samples_per_prompt
    return asyncio.run(preflight_async(cfg, rows, n=n, policy_url=policy_url, policy_model=policy_model,
                                       run_judgments=run_judgments, judge=judge, state_dir=state_dir))


def format_report(rep: PreflightReport) -> str:
    """Human-readable report."""
    def f(x: float | None, nd: int = 3) -> str:
        return "n/a" if x is None else f"{x:.{nd}f}"

    lines = [f"judged: {rep.n_reference} references, {rep.n_policy} policy samples "
             f"({rep.judgments} judgments)",
             f"failure rate: {rep.failure_rate:.1%} {dict(rep.failure_reasons) if rep.failure_reasons else ''}",
             f"parse-failure rate: {rep.parse_failure_rate:.1%} ({rep.parse_failures} of {rep.answers} judge answers "
             f"unusable for the rubric)",
             f"latency s: p50 {f(rep.percentile(0.5), 2)}  p90 {f(rep.percentile(0.9), 2)}  "
             f"max {f(rep.percentile(1.0), 2)}"]
    if rep.reference_sq:
        lines.append(f"reference SQ: mean {f(statistics.fmean(rep.reference_sq))}")
    if rep.policy_without_think:
        lines.append(f"note: {rep.policy_without_think} policy samples came without reasoning although thinking is "
                     f"on; judged as the text the server returned")
    if rep.policy_sq:
        lines.append(f"policy SQ: mean {f(statistics.fmean(rep.policy_sq))}; reference - policy gap {f(rep.gap)}; "
                     f"within-group std {f(rep.within_group_std)}")
    dims = sorted(set(rep.dims_reference) | set(rep.dims_policy))
    if dims:
        lines.append("per dimension (reference / policy):")
        for d in dims:
            lines.append(f"  {d:>8}: {f(rep.dims_reference.get(d), 2)} / {f(rep.dims_policy.get(d), 2)}")
    if rep.run_judgments is not None:
        cost = rep.mean_cost_usd * rep.run_judgments
        lines.append(f"forecast: {rep.run_judgments} judgments for the run, ~{rep.mean_tokens * rep.run_judgments:,.0f} "
                     f"judge tokens, ~${cost:,.2f} (at the configured prices; retries and re-asks included in the means)")
    return "\n".join(lines)
