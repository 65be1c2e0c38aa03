"""The rubric *file* model: what a judge is asked, how its answer is checked and scored.

A rubric file (YAML, see ``recipes/rubrics/``) lists dimensions with integer score ranges and
band anchors, the judge's instructions, the evidence (quote) rules, how per-dimension scores
aggregate into one reward and how totals map to labels. Totals are always recomputed in code
(:mod:`polaris.rubric`); the judge only gives per-dimension integers.

Two aggregation kinds exist:

* ``signed_sum`` (POLARIS): overall = P − N + B_eff − Pen_eff over positive, negative, bonus and
  penalty dimensions; the bonus counts only when N ≤ ratio·P, the penalty is capped when
  P > ratio·N; the result is clamped and divided to give the reward value.
* ``weighted_mean``: the weighted mean of the applicable ``criterion`` dimensions (all on one
  scale) mapped to [0, 1] by (mean − min)/(max − min), with optional caps ("C1 ≤ 2 caps the value
  at 0.3").
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from polaris.schema._base import Section

__all__ = [
    "BandAnchor",
    "Dimension",
    "JudgeInstructions",
    "QuoteRules",
    "SignedSumAggregation",
    "CapRule",
    "WeightedMeanAggregation",
    "Aggregation",
    "LabelBand",
    "RubricSpec",
    "Polarity",
]

Polarity = Literal["positive", "negative", "bonus", "penalty", "criterion"]
_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"


class BandAnchor(Section):
    """What scores ``low``..``high`` (inclusive) of a dimension mean."""

    low: int = Field(description="Lowest score of the band (inclusive).")
    high: int = Field(description="Highest score of the band (inclusive).")
    text: str = Field(min_length=1, description="What a story in this band looks like.")

    @model_validator(mode="after")
    def validate_order(self) -> "BandAnchor":
        if self.low > self.high:
            raise ValueError(f"band low ({self.low}) is above high ({self.high})")
        return self


class Dimension(Section):
    """One scored dimension of the rubric."""

    id: str = Field(pattern=_ID_PATTERN, description="Short unique id used as the answer key (e.g. P1, N10, C3).")
    name: str = Field(min_length=1, description="Human-readable name.")
    description: str = Field(min_length=1, description="What the judge assesses for this dimension.")
    polarity: Polarity = Field(
        description="positive/negative/bonus/penalty for signed_sum rubrics; criterion for weighted_mean rubrics."
    )
    min: int = Field(description="Lowest allowed integer score.")
    max: int = Field(description="Highest allowed integer score.")
    bands: list[BandAnchor] = Field(min_length=1, description="Anchors covering every score from min to max, in order.")
    weight: float = Field(1.0, gt=0, description="Weight in a weighted_mean aggregation (ignored by signed_sum).")
    allow_na: bool = Field(False, description="The judge may answer null (not applicable); the dimension then drops out.")
    na_when: str | None = Field(None, description="When the dimension is not applicable (shown to the judge).")
    quote_required: Literal["always", "nonzero", "thresholds", "never"] = Field(
        "thresholds",
        description=(
            "When a verbatim quote is required: always; when the score is above min (nonzero); "
            "when the score meets the rubric's quote thresholds; never."
        ),
    )

    @model_validator(mode="after")
    def validate_range_and_bands(self) -> "Dimension":
        if self.min >= self.max:
            raise ValueError(f"dimension {self.id}: min ({self.min}) must be below max ({self.max})")
        expected = self.min
        for band in self.bands:
            if band.low != expected:
                raise ValueError(
                    f"dimension {self.id}: bands must cover {self.min}..{self.max} in order without gaps or "
                    f"overlaps; expected a band starting at {expected}, found {band.low}..{band.high}"
                )
            expected = band.high + 1
        if expected != self.max + 1:
            raise ValueError(f"dimension {self.id}: bands end at {expected - 1} but max is {self.max}")
        if self.na_when is not None and not self.allow_na:
            raise ValueError(f"dimension {self.id}: na_when is set but allow_na is false")
        return self


class JudgeInstructions(Section):
    """The text the judge sees besides the story (written for this project, never copied)."""

    system_prompt: str = Field(min_length=1, description="The judge's role and task.")
    principles: list[str] = Field(default_factory=list, description="Scoring principles, one per item.")
    output_instructions: str | None = Field(None, description="Extra instructions about the answer format.")


class QuoteRules(Section):
    """Evidence rules: verbatim quotes from the story supporting a score."""

    max_words: int = Field(12, ge=1, description="Longest allowed quote in words; longer quotes are flagged.")
    max_items: int = Field(2, ge=1, le=5, description="Most quotes per dimension.")
    max_chars: int = Field(160, ge=10, description="Longest quote string accepted by the answer schema.")
    required_at_or_above: int | None = Field(
        None, description="For quote_required=thresholds: a score at or above this needs a quote."
    )
    required_at_or_below: int | None = Field(
        None, description="For quote_required=thresholds: a score at or below this needs a quote."
    )


class SignedSumAggregation(Section):
    """POLARIS: overall = P − N + B_eff − Pen_eff, clamped, divided by ``divisor``."""

    kind: Literal["signed_sum"] = Field(description="Aggregation kind.")
    bonus_zero_when_negative_over_positive: float = Field(
        0.5, ge=0, description="The bonus counts 0 when N > this ratio × P."
    )
    penalty_cap: int = Field(3, ge=0, description="Cap on the penalty's contribution when the story is clearly good.")
    penalty_cap_when_positive_over_negative: float = Field(
        1.5, ge=0, description="The penalty cap applies when P > this ratio × N."
    )
    clamp_min: int = Field(-159, description="Lower clamp of the overall total.")
    clamp_max: int = Field(108, description="Upper clamp of the overall total.")
    divisor: float = Field(100.0, gt=0, description="The reward value is the clamped total divided by this.")

    @model_validator(mode="after")
    def validate_clamp(self) -> "SignedSumAggregation":
        if self.clamp_min >= self.clamp_max:
            raise ValueError(f"clamp_min ({self.clamp_min}) must be below clamp_max ({self.clamp_max})")
        return self


class CapRule(Section):
    """If any of ``dimensions`` scores at or below ``at_or_below``, the value is capped at ``cap``."""

    dimensions: list[str] = Field(min_length=1, description="Dimension ids that trigger the cap.")
    at_or_below: int = Field(description="Trigger score (inclusive).")
    cap: float = Field(ge=0, le=1, description="Cap on the normalised value in [0, 1].")


class WeightedMeanAggregation(Section):
    """Weighted mean of applicable criteria, mapped to [0, 1] by (mean − min)/(max − min)."""

    kind: Literal["weighted_mean"] = Field(description="Aggregation kind.")
    caps: list[CapRule] = Field(default_factory=list, description="Gates that cap the value.")


Aggregation = Annotated[Union[SignedSumAggregation, WeightedMeanAggregation], Field(discriminator="kind")]


class LabelBand(Section):
    """A label for totals at or above ``at_least`` (up to the next band)."""

    at_least: float = Field(description="Smallest raw total with this label (raw totals are in score units).")
    label: str = Field(min_length=1, description="The label.")


class RubricSpec(Section):
    """A rubric file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Short name (lowercase, digits, . _ -).")
    version: str = Field(min_length=1, description="Version of this rubric; bump it when scoring changes.")
    description: str = Field(min_length=1, description="What the rubric measures and where it comes from.")
    judge: JudgeInstructions = Field(description="Instructions for the judge.")
    dimensions: list[Dimension] = Field(min_length=1, description="The scored dimensions, in answer order.")
    aggregation: Aggregation = Field(description="How per-dimension scores become the reward value.")
    quotes: QuoteRules = Field(default_factory=QuoteRules, description="Evidence (quote) rules.")
    justification_max_chars: int = Field(800, ge=50, description="Longest justification the answer schema allows.")
    labels: list[LabelBand] = Field(default_factory=list, description="Raw-total bands → label, ascending.")

    @field_validator("dimensions")
    @classmethod
    def validate_unique_ids(cls, dims: list[Dimension]) -> list[Dimension]:
        seen: set[str] = set()
        for d in dims:
            if d.id in seen:
                raise ValueError(f"dimension id {d.id!r} appears more than once")
            seen.add(d.id)
        return dims

    @model_validator(mode="after")
    def validate_consistency(self) -> "RubricSpec":
        ids = {d.id for d in self.dimensions}
        agg = self.aggregation
        if isinstance(agg, SignedSumAggregation):
            bad = [d.id for d in self.dimensions if d.polarity == "criterion"]
            if bad:
                raise ValueError(f"signed_sum rubrics take positive/negative/bonus/penalty dimensions, not criterion: {bad}")
            if not any(d.polarity == "positive" for d in self.dimensions):
                raise ValueError("a signed_sum rubric needs at least one positive dimension")
            na = [d.id for d in self.dimensions if d.allow_na]
            if na:
                raise ValueError(f"signed_sum rubrics score non-applicable dimensions as their min; allow_na is not supported: {na}")
        else:
            bad = [d.id for d in self.dimensions if d.polarity != "criterion"]
            if bad:
                raise ValueError(f"weighted_mean rubrics take criterion dimensions only: {bad}")
            ranges = {(d.min, d.max) for d in self.dimensions}
            if len(ranges) != 1:
                raise ValueError(f"weighted_mean criteria must share one score range, found {sorted(ranges)}")
            if all(d.allow_na for d in self.dimensions):
                raise ValueError("at least one criterion must be always applicable (allow_na: false)")
            for i, cap in enumerate(agg.caps):
                unknown = [x for x in cap.dimensions if x not in ids]
                if unknown:
                    raise ValueError(f"aggregation.caps[{i}] names unknown dimensions {unknown}; known: {sorted(ids)}")
        if any(d.quote_required == "thresholds" for d in self.dimensions) and (
            self.quotes.required_at_or_above is None and self.quotes.required_at_or_below is None
        ):
            raise ValueError("quote_required: thresholds needs quotes.required_at_or_above or quotes.required_at_or_below")
        if self.labels:
            cuts = [b.at_least for b in self.labels]
            if cuts != sorted(cuts) or len(set(cuts)) != len(cuts):
                raise ValueError(f"labels must be in strictly ascending at_least order, got {cuts}")
            lo, _ = self.raw_range()
            if cuts[0] > lo:
                raise ValueError(f"the first label must start at or below the lowest raw total {lo}, got {cuts[0]}")
        return self

    def dimension(self, dim_id: str) -> Dimension:
        """The dimension with id ``dim_id`` (KeyError if absent)."""
        for d in self.dimensions:
            if d.id == dim_id:
                return d
        raise KeyError(dim_id)

    def raw_range(self) -> tuple[float, float]:
        """Lowest and highest raw total (signed_sum: after the clamp; weighted_mean: score units)."""
        agg = self.aggregation
        if isinstance(agg, SignedSumAggregation):
            lo = hi = 0
            for d in self.dimensions:
                if d.polarity in ("positive", "bonus"):
                    lo, hi = lo + d.min, hi + d.max
                else:
                    lo, hi = lo - d.max, hi - d.min
            return float(max(lo, agg.clamp_min)), float(min(hi, agg.clamp_max))
        d0 = self.dimensions[0]
        return float(d0.min), float(d0.max)
