"""All deterministic components of one response, and the composite reward."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

from ._components import (
    RepetitionReport,
    blank,
    length_band_penalty,
    longwriter_length_score,
    overlong_penalty,
    repetition,
    think_cap_penalty,
)
from ._extract import extract_story
from ._injection import injection_guard
from ._words import count_words

if TYPE_CHECKING:
    from polaris.schema.reward import GateConfig, RewardConfig

__all__ = ["Components", "compute_components", "composite", "impute_batch_mean", "gate_reasons"]


@dataclass
class Components:
    """Deterministic components of one response (penalties are non-negative magnitudes).

    ``length_penalty`` is 0 and ``length_score_sl`` None when no target is known.
    """

    words: int
    story: str
    format_ok: bool
    repetition: float
    blank: float
    length_penalty: float
    length_score_sl: float | None
    overlong: float
    think_penalty: float
    injection_flag: bool
    injection_reasons: list[str] = field(default_factory=list)
    format_problem: str | None = None
    repetition_report: RepetitionReport | None = None

    def to_dict(self, *, with_story: bool = False) -> dict[str, object]:
        """Plain dict for logs and the service's ``components`` field (story omitted by default)."""
        d = asdict(self)
        if not with_story:
            d.pop("story")
        return d


def compute_components(
    response: str,
    *,
    target_words: int | None,
    cfg: "RewardConfig",
    thinking: bool,
    word_rule: str,
    think_cap_tokens: int | None,
    response_tokens: int | None = None,
    think_tokens: int | None = None,
    finished_properly: bool = True,
    max_new_tokens: int | None = None,
) -> Components:
    """Every deterministic component of ``response`` (the policy output after the prompt).

    The overlong penalty needs ``response_tokens`` and ``max_new_tokens``; the thinking penalty
    needs ``think_tokens`` and ``think_cap_tokens``; without them the component is 0.
    """
    ex = extract_story(response, thinking=thinking)
    story = ex.story
    words = count_words(story, word_rule)
    rep = repetition(story, cfg.repetition)
    has_target = target_words is not None and target_words > 0
    over = 0.0
    if cfg.overlong.enabled and response_tokens is not None and max_new_tokens is not None:
        over = overlong_penalty(response_tokens, finished_properly, max_new_tokens, cfg.overlong.buffer_tokens)
    think = 0.0
    if think_tokens is not None and think_cap_tokens is not None:
        think = think_cap_penalty(think_tokens, think_cap_tokens, cfg.think_cap.per_token)
    inj = injection_guard(story) if cfg.injection.enabled else None
    return Components(
        words=words,
        story=story,
        format_ok=ex.format_ok,
        repetition=rep.penalty,
        blank=blank(story, words, cfg.blank),
        length_penalty=length_band_penalty(words, target_words, cfg.length) if has_target else 0.0,  # type: ignore[arg-type]
        length_score_sl=longwriter_length_score(words, target_words) if has_target else None,  # type: ignore[arg-type]
        overlong=over,
        think_penalty=think,
        injection_flag=bool(inj and inj.flagged),
        injection_reasons=list(inj.reasons) if inj and inj.flagged else [],
        format_problem=ex.problem,
        repetition_report=rep,
    )


def composite(story_quality: float | None, comps: Components, cfg: "RewardConfig", *, gated: bool = False) -> float | None:
    """The composite reward of one response, in [−clip, clip], or None.

    * Injection-flagged and malformed responses (``format_ok`` False, e.g. no ``</think>`` with
      thinking on) get the injection floor (default −clip) whatever the judge said: both are
      decided without the judge, so the judge need not be called and imputation must not apply
      (a batch mean would reward them). POLARIS had no format check; it judged the whole output.
    * ``gated`` (see :func:`gate_reasons`) gives the gate floor.
    * Otherwise None when ``story_quality`` is None (judge failure: impute later, never 0), else
      clip(w_sq·SQ − (w_rep·rep + w_len·len + w_blank·blank + w_over·over + w_think·think)
      + w_sl·S_l/100, −clip, clip).
    """
    if not comps.format_ok or comps.injection_flag:
        return cfg.injection_floor
    if gated:
        return cfg.gate_floor
    if story_quality is None:
        return None
    if math.isnan(story_quality):
        raise ValueError("story_quality is NaN; a failed judgment must be None")
    w = cfg.weights
    penalty = (
        w.repetition * comps.repetition
        + w.length * comps.length_penalty
        + w.blank * comps.blank
        + w.overlong * comps.overlong
        + w.think_cap * comps.think_penalty
    )
    bonus = w.length_score_sl * (comps.length_score_sl or 0.0) / 100.0
    value = w.story_quality * story_quality - penalty + bonus
    return max(-cfg.clip, min(cfg.clip, value))


def gate_reasons(
    gate: "GateConfig",
    per_dimension: Mapping[str, int | None],
    words: int,
    target_words: int | None,
    *,
    is_reference: bool,
) -> list[str]:
    """Why the POLARIS disqualification gates fire for this story (empty: not gated).

    Returns nothing when the gates are off or the story is an exempt human reference.
    """
    if not gate.enabled or (is_reference and gate.exempt_references):
        return []
    out = []
    for dim, threshold in gate.dimension_at_least.items():
        score = per_dimension.get(dim)
        if score is not None and score >= threshold:
            out.append(f"{dim}>={threshold}")
    if target_words and words < gate.min_length_fraction * target_words:
        out.append(f"words<{gate.min_length_fraction:g}*target")
    return out


def impute_batch_mean(values: Sequence[float | None]) -> tuple[list[float], int]:
    """Replace None (failed judgments) by the mean of the valid values; returns (values, n_imputed).

    Raises ValueError when no value is valid: there is nothing to impute from, and 0 would be a lie.
    """
    valid = [v for v in values if v is not None]
    if not valid:
        raise ValueError(f"all {len(values)} judgments failed; cannot impute a batch mean")
    mean = sum(valid) / len(valid)
    return [mean if v is None else float(v) for v in values], len(values) - len(valid)
