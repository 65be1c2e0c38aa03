"""Scoring a parsed answer: totals, caps and gates recomputed in code; quotes verified."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from polaris.schema.rubric import Dimension, RubricSpec, SignedSumAggregation

from ._answer import Answer

__all__ = ["RubricScore", "score_answer", "value_range", "normalise_for_quotes", "quote_in_story"]

QuotePolicy = Literal["flag", "zero_dimension", "cap_dimension"]
_FAVOURABLE_HIGH = ("positive", "bonus", "criterion")


@dataclass
class RubricScore:
    """The rubric's verdict on one story.

    ``value`` is the story-quality reward (signed_sum: clamp(P − N + B_eff − Pen_eff)/divisor;
    weighted_mean: in [0, 1]). ``raw_total`` is in score units (signed_sum: the clamped overall;
    weighted_mean: the weighted mean of applicable criteria). For weighted_mean rubrics
    ``positive_total`` is that weighted mean and ``negative_total`` is 0.
    ``per_dimension`` holds the scores actually used (after any quote policy; None = N/A).
    """

    value: float
    raw_total: float
    positive_total: float
    negative_total: float
    per_dimension: dict[str, int | None]
    label: str | None
    fabricated_quotes: list[tuple[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


_QUOTE_CHARS = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "\u00a0": " "})
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")
_EDGE = " \t\n\"'`«»"
#: Words each part of an elided quote ("a ... b") needs to count as evidence.
MIN_ELIDED_PART_WORDS = 3


def normalise_for_quotes(text: str) -> str:
    """Fold curly quotes to straight ones and collapse whitespace (how quotes and story are compared).

    ``str.split()`` splits on exactly the characters ``\\s`` matches (``str.isspace``; tested over all
    of Unicode) and is several times faster than the regex on a long story.
    """
    return " ".join(text.translate(_QUOTE_CHARS).split())


def quote_in_story(quote: str, normalised_story: str) -> bool:
    """True when ``quote`` is verbatim in the (normalised) story.

    Surrounding quotation marks are ignored; an ellipsis marks an elision, so each part must occur
    verbatim and in order, and each must be at least ``MIN_ELIDED_PART_WORDS`` words (otherwise
    "The ... end" would pass as evidence). Case and punctuation inside the quote must match.
    """
    q = normalise_for_quotes(quote).strip(_EDGE)
    parts = [p.strip(_EDGE) for p in _ELLIPSIS.split(q)]
    parts = [p for p in parts if p]
    if not parts:
        return False
    if len(parts) > 1 and any(len(p.split()) < MIN_ELIDED_PART_WORDS for p in parts):
        return False
    pos = 0
    for part in parts:
        found = normalised_story.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def _needs_quote(spec: RubricSpec, d: Dimension, score: int | None) -> bool:
    if score is None or d.quote_required == "never":
        return False
    if d.quote_required == "always":
        return True
    if d.quote_required == "nonzero":
        return score > d.min
    hi, lo = spec.quotes.required_at_or_above, spec.quotes.required_at_or_below
    return (hi is not None and score >= hi) or (lo is not None and score <= lo)


def value_range(spec: RubricSpec) -> tuple[float, float]:
    """The lowest and highest ``RubricScore.value`` this rubric can produce."""
    if isinstance(spec.aggregation, SignedSumAggregation):
        lo, hi = spec.raw_range()
        return lo / spec.aggregation.divisor, hi / spec.aggregation.divisor
    return 0.0, 1.0


def _label(spec: RubricSpec, raw: float) -> str | None:
    label = None
    for band in spec.labels:
        if raw >= band.at_least:
            label = band.label
    return label


def score_answer(
    spec: RubricSpec,
    answer: Answer,
    story: str,
    *,
    fabricated_quote_policy: QuotePolicy = "flag",
) -> RubricScore:
    """Score ``answer`` for ``story`` (the exact text the judge saw).

    Quotes are checked against the story; fabricated ones are always listed and flagged. With
    ``zero_dimension`` a dimension whose score is favourable (positive, bonus, criterion) and
    rests on a fabricated quote drops to its minimum; with ``cap_dimension`` it is capped at the
    middle of its range. Negative and penalty dimensions are never lowered by this (that would
    reward the story). Missing required quotes and over-long quotes are flagged only.
    Any total the judge reported is ignored (``judge_total_ignored`` flag).
    """
    if fabricated_quote_policy not in ("flag", "zero_dimension", "cap_dimension"):
        raise ValueError(f"unknown fabricated_quote_policy {fabricated_quote_policy!r}")
    flags: list[str] = list(answer.problems)
    if answer.ignored:
        flags.append("judge_total_ignored")
    norm_story = normalise_for_quotes(story)
    fabricated: list[tuple[str, str]] = []
    scores: dict[str, int | None] = {}
    for d in spec.dimensions:
        da = answer.dimensions.get(d.id)
        if da is None:
            raise ValueError(f"answer has no dimension {d.id!r}; parse it with parse_answer first")
        score = da.score
        bad = [q for q in da.quotes if not quote_in_story(q, norm_story)]
        fabricated += [(d.id, q) for q in bad]
        if bad:
            flags.append(f"fabricated_quote:{d.id}")
        if any(len(q.split()) > spec.quotes.max_words for q in da.quotes):
            flags.append(f"long_quote:{d.id}")
        if _needs_quote(spec, d, score) and not da.quotes:
            flags.append(f"missing_quote:{d.id}")
        if bad and score is not None and d.polarity in _FAVOURABLE_HIGH and fabricated_quote_policy != "flag":
            new = d.min if fabricated_quote_policy == "zero_dimension" else min(score, d.min + (d.max - d.min) // 2)
            if new != score:
                flags.append(f"downgraded:{d.id}:{score}->{new}")
                score = new
        scores[d.id] = score
    agg = spec.aggregation
    if isinstance(agg, SignedSumAggregation):
        by = {p: sum(scores[d.id] or 0 for d in spec.dimensions if d.polarity == p) for p in ("positive", "negative", "bonus", "penalty")}
        p, n, b, pen = by["positive"], by["negative"], by["bonus"], by["penalty"]
        b_eff = b
        if n > agg.bonus_zero_when_negative_over_positive * p:
            b_eff = 0
            if b:
                flags.append("bonus_zeroed")
        pen_eff = pen
        if p > agg.penalty_cap_when_positive_over_negative * n and pen > agg.penalty_cap:
            pen_eff = agg.penalty_cap
            flags.append("penalty_capped")
        overall = p - n + b_eff - pen_eff
        raw = min(max(overall, agg.clamp_min), agg.clamp_max)
        if raw != overall:
            flags.append("clamped")
        return RubricScore(
            value=raw / agg.divisor, raw_total=float(raw), positive_total=float(p), negative_total=float(n),
            per_dimension=scores, label=_label(spec, raw), fabricated_quotes=fabricated, flags=flags,
        )
    applicable = [d for d in spec.dimensions if scores[d.id] is not None]
    wsum = sum(d.weight for d in applicable)
    mean = sum(d.weight * scores[d.id] for d in applicable) / wsum  # type: ignore[operator]
    lo, hi = spec.dimensions[0].min, spec.dimensions[0].max
    value = (mean - lo) / (hi - lo)
    for cap in agg.caps:
        hit = [x for x in cap.dimensions if scores[x] is not None and scores[x] <= cap.at_or_below]  # type: ignore[operator]
        if hit and value > cap.cap:
            value = cap.cap
            flags.append("cap:" + ",".join(hit))
    return RubricScore(
        value=value, raw_total=mean, positive_total=mean, negative_total=0.0,
        per_dimension=scores, label=_label(spec, mean), fabricated_quotes=fabricated, flags=flags,
    )
