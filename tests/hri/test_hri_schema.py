"""The reference_injection recipe section."""

import pytest
from pydantic import ValidationError

from polaris.schema.hri import ReferenceInjection


def test_defaults_are_polaris():
    r = ReferenceInjection()
    assert (r.enabled, r.slots_per_group, r.statistics, r.clip_negative_advantage) == (True, 1, "exclude", False)
    assert (r.weight.peak, r.weight.warmup_steps, r.weight.decay_steps, r.weight.schedule) == (0.4, 15, 0, "linear")


def test_every_field_is_documented():
    for model in (ReferenceInjection, ReferenceInjection.model_fields["weight"].annotation):
        assert all(f.description for f in model.model_fields.values())


@pytest.mark.parametrize("bad", [{"slots_per_group": 2}, {"statistics": "both"}, {"typo": 1},
                                 {"reference_reward": "fixed"}, {"fixed_reward": 1.0},
                                 {"weight": {"peak": 0.2, "decay_steps": 5, "final": 0.3}},
                                 {"weight": {"schedule": "step"}}])
def test_invalid(bad):
    with pytest.raises(ValidationError):
        ReferenceInjection(**bad)


def test_fixed_reward_and_reasoning_derivation():
    r = ReferenceInjection(reference_reward="fixed", fixed_reward=1.5)
    assert r.fixed_reward == 1.5
    assert ReferenceInjection().derive_require_reasoning_trace(thinking=True) is True
    assert ReferenceInjection().derive_require_reasoning_trace(thinking=False) is False
    assert ReferenceInjection(require_reasoning_trace=False).derive_require_reasoning_trace(thinking=True) is False
