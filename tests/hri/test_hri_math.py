"""Pure HRI arithmetic, checked against hand-computed values."""

import math

import pytest

from polaris.hri import GroupResult, diagnostics, group_advantages, reference_weight


def test_exclude_uses_policy_rows_only():
    # policy [1, 2, 3]: mean 2, unbiased std 1; reference 5 -> (5-2)/1 = 3, weighted 0.4 -> 1.2
    adv = group_advantages([1, 2, 3, 5], [False, False, False, True], exclude_reference_from_stats=True,
                           reference_weight=0.4, eps=0.0)
    assert adv == pytest.approx([-1.0, 0.0, 1.0, 1.2])


def test_include_uses_all_rows():
    # all [1, 2, 3, 6]: mean 3, var (4+1+0+9)/3 = 14/3
    std = math.sqrt(14 / 3)
    adv = group_advantages([1, 2, 3, 6], [False, False, False, True], exclude_reference_from_stats=False,
                           reference_weight=0.5, eps=0.0)
    assert adv == pytest.approx([-2 / std, -1 / std, 0.0, 0.5 * 3 / std])


def test_eps_and_no_std_normalisation():
    adv = group_advantages([0, 2, 9], [False, False, True], exclude_reference_from_stats=True,
                           reference_weight=1.0, eps=1e-6)
    s = math.sqrt(2)  # policy [0, 2]: mean 1, std sqrt(2)
    assert adv == pytest.approx([-1 / (s + 1e-6), 1 / (s + 1e-6), 8 / (s + 1e-6)])
    adv = group_advantages([0, 2, 9], [False, False, True], exclude_reference_from_stats=True,
                           reference_weight=0.5, normalize_by_std=False)
    assert adv == pytest.approx([-1.0, 1.0, 4.0])


def test_negative_reference_clip_happens_before_weight():
    args = dict(exclude_reference_from_stats=True, reference_weight=0.4, eps=0.0)
    assert group_advantages([1, 3, 0], [False, False, True], **args)[2] == pytest.approx(0.4 * (0 - 2) / math.sqrt(2))
    assert group_advantages([1, 3, 0], [False, False, True], clip_negative_reference=True, **args)[2] == 0.0


def test_single_statistics_row_gets_mean_0_std_1():
    adv = group_advantages([3.0, 7.0], [False, True], exclude_reference_from_stats=True, reference_weight=0.5, eps=0.0)
    assert adv == pytest.approx([3.0, 3.5])


def test_zero_std_group_is_finite():
    adv = group_advantages([2, 2, 2, 4], [False, False, False, True], exclude_reference_from_stats=True,
                           reference_weight=1.0, eps=1e-6)
    assert adv[:3] == [0.0, 0.0, 0.0]
    assert adv[3] == pytest.approx(2 / 1e-6)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="finite"):
        group_advantages([1, float("nan")], [False, False], exclude_reference_from_stats=True, reference_weight=1)
    with pytest.raises(ValueError, match="only reference"):
        group_advantages([1], [True], exclude_reference_from_stats=True, reference_weight=1)
    with pytest.raises(ValueError, match="rows"):
        group_advantages([1, 2], [True], exclude_reference_from_stats=True, reference_weight=1)


def test_polaris_linear_warmup():
    w = [reference_weight(s, peak=0.4, warmup_steps=15) for s in (0, 1, 7, 15, 100)]
    assert w == pytest.approx([0.0, 0.4 / 15, 0.4 * 7 / 15, 0.4, 0.4])


def test_warmup_zero_is_peak_immediately():
    assert reference_weight(0, peak=0.3, warmup_steps=0) == 0.3


def test_linear_and_cosine_decay():
    kw = dict(peak=0.4, warmup_steps=10, decay_steps=20, final=0.1)
    assert reference_weight(10, **kw) == pytest.approx(0.4)
    assert reference_weight(15, **kw) == pytest.approx(0.4 - 0.3 * 0.25)
    assert reference_weight(20, schedule="cosine", **kw) == pytest.approx(0.25)  # cosine midpoint
    assert reference_weight(15, schedule="cosine", **kw) == pytest.approx(0.1 + 0.3 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert reference_weight(30, **kw) == pytest.approx(0.1)
    assert reference_weight(500, schedule="cosine", **kw) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        reference_weight(-1, **kw)


def test_diagnostics():
    g1 = GroupResult([1, 2, 3, 5], [False, False, False, True], [-1, 0, 1, 1.2], [False, True, False, False])
    g2 = GroupResult([4, 0, 2, 3], [False, False, False, True], [1, -1, 0, 0.2])
    g3 = GroupResult([1, 1], [False, False], [0, 0])  # eval-like group without a reference
    d = diagnostics([g1, g2, g3])
    assert d["reference_reward_mean"] == pytest.approx(4.0)
    assert d["policy_reward_mean"] == pytest.approx((1 + 2 + 3 + 4 + 0 + 2 + 1 + 1) / 8)
    assert d["policy_reward_best"] == pytest.approx((3 + 4 + 1) / 3)
    assert d["reference_beats_all"] == pytest.approx(0.5)
    assert d["reference_advantage_mean"] == pytest.approx(0.7)
    assert d["policy_reward_std"] == pytest.approx((1.0 + 2.0 + 0.0) / 3)
    assert d["imputed"] == 1.0 and d["groups_with_reference"] == 2.0
