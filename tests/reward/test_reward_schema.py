import pytest
from pydantic import ValidationError

from polaris.schema.reward import RewardConfig


def test_defaults_are_polaris():
    c = RewardConfig()
    w = c.weights
    assert (w.story_quality, w.repetition, w.length, w.blank, w.overlong, w.think_cap, w.length_score_sl) == (1.0, 1.5, 0.8, 1.0, 1.0, 1.0, 0.0)
    r = c.repetition
    assert (r.ngram, r.threshold, r.local_window, r.cap, r.global_mix, r.local_mix, r.scale, r.dup_lines_weight) == (4, 0.08, 64, 1.5, 0.7, 0.3, 0.8, 0.4)
    assert (c.blank.min_visible_ratio, c.blank.min_words) == (0.10, 150)
    assert (c.length.lo_fraction, c.length.lo_min, c.length.lo_max) == (0.15, 350, 1000)
    assert (c.length.hi_fraction, c.length.hi_min, c.length.hi_max) == (0.25, 600, 1500)
    assert c.overlong.enabled and c.overlong.buffer_tokens == 512 and c.think_cap.per_token == 0.05
    assert c.clip == 2.0 and c.injection_floor == -2.0 and c.gate_floor == -2.0 and not c.gate.enabled
    assert c.gate.dimension_at_least == {"N2": 7, "N10": 8} and c.gate.min_length_fraction == 0.4
    assert c.failure.imputation == "batch_mean" and c.failure.abort_failed_fraction == 0.5
    assert c.reduction == "outcome_scalar"


def test_every_field_documented():
    def walk(model):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name}"
            ann = f.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                walk(ann)

    walk(RewardConfig)


@pytest.mark.parametrize(
    "data,match",
    [
        ({"clip": 1.0, "injection": {"floor": -1.5}}, "outside the clip range"),
        ({"gate": {"floor": 3}}, "outside the clip range"),
        ({"length": {"lo_min": 2000}}, "lo_min"),
        ({"weights": {"repetition": -1}}, "greater than or equal"),
        ({"weights": {"typo": 1}}, "Extra inputs"),
        ({"reduction": "sum"}, "outcome_scalar"),
        ({"gate": {"dimension_at_least": {"N2": 0}}}, ">= 1"),
    ],
)
def test_validators(data, match):
    with pytest.raises(ValidationError, match=match):
        RewardConfig.model_validate(data)


def test_floor_override():
    assert RewardConfig(injection={"floor": -0.5}).injection_floor == -0.5
