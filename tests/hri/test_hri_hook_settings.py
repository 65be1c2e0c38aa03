"""Hook settings (clip, eps, schedules) and diagnostics through OpenRLHF's experience path and the hook.

Expected values are worked out by hand from docs/hri.md's formulas, not with polaris.hri.
"""

import statistics

import pytest
from hri_fixtures import hook_rows, per_row, row_advantages
from openrlhf_harness import openrlhf_real  # noqa: F401

N = 4
HRI_KEYS = {f"hri/{k}" for k in ("reference_reward_mean", "policy_reward_mean", "policy_reward_best",
                                  "reference_beats_all", "reference_advantage_mean", "policy_reward_std",
                                  "imputed", "reference_weight", "groups_with_reference")}


def _rows(groups):
    """groups: rows (reward, kind); kind p = policy, r = reference, fail / rfail = failed policy / reference,
    drop = policy sample in a dropped reference's slot. Logs as the executor writes them."""
    out = []
    for g in groups:
        assert len(g) == N
        for r, kind in g:
            ref, failed = kind in ("r", "rfail"), kind in ("fail", "rfail")
            reward = 0.0 if failed else r
            out.append((reward, {"is_reference": float(ref), "judge_failed": float(failed), "judged": float(not failed),
                                 "story_quality": reward, "ref_reward_x_n": N * reward if ref else 0.0,
                                 "reference_dropped": float(kind == "drop")}))
    return out


def _two_groups(r0, r1, extra=()):
    # group 0: policy 1, 2, 3 (mean 2, std 1), reference last; group 1: policy 2, 4, 6 (mean 4, std 2), reference 2nd
    return _rows([[(1, "p"), (2, "p"), (3, "p"), (r0, "r")], [(2, "p"), (r1, "r"), (4, "p"), (6, "p")], *extra])


@pytest.mark.parametrize("clip", [True, False])
def test_clip_negative_reference_through_the_hook(openrlhf_real, install_hook, clip):
    install_hook(clip_negative_reference=clip, weight={"peak": 0.5, "warmup_steps": 0})
    out = hook_rows(_two_groups(0.5, 7.0), micro_batch_size=3, step=3)
    adv = row_advantages(out)
    # reference 0 scores 0.5: (0.5 - 2) / 1 = -1.5 -> clipped to 0, else -1.5 * 0.5
    # reference 1 scores 7:   (7 - 4) / 2 = 1.5, positive, kept either way: 1.5 * 0.5
    ref0 = 0.0 if clip else -0.75
    assert adv == pytest.approx([-1, 0, 1, ref0, -1, 0.75, 0, 1], abs=1e-5)
    if clip:
        assert adv[3] == 0.0
    assert per_row(out, "hri/reference_advantage_mean")[0] == pytest.approx((ref0 + 0.75) / 2, abs=1e-5)


def test_eps_through_the_hook(openrlhf_real, install_hook):
    """eps is added to the std; a group of equal policy rewards (std 0) shows it most."""
    install_hook(eps=0.5, weight={"peak": 0.5, "warmup_steps": 0})
    rows = _two_groups(3.5, 7.0, extra=[[(3, "p"), (3, "p"), (3, "p"), (4, "r")]])
    adv = row_advantages(hook_rows(rows, micro_batch_size=3, step=0))
    assert adv == pytest.approx([
        -1 / 1.5, 0, 1 / 1.5, 0.5 * 1.5 / 1.5,         # (s - 2) / (1 + 0.5); ref 3.5
        -2 / 2.5, 0.5 * 3 / 2.5, 0, 2 / 2.5,           # (s - 4) / (2 + 0.5); ref 7
        0, 0, 0, 0.5 * 1 / 0.5,                        # std 0: (4 - 3) / 0.5
    ], abs=1e-5)


def test_without_std_normalisation_through_the_hook(openrlhf_real, install_hook):
    install_hook(normalize_by_std=False, weight={"peak": 0.5, "warmup_steps": 0})
    adv = row_advantages(hook_rows(_two_groups(4.0, 1.0), step=0))
    assert adv == pytest.approx([-1, 0, 1, 0.5 * 2, -2, 0.5 * -3, 0, 2], abs=1e-5)


WEIGHT = {"peak": 0.6, "warmup_steps": 4, "decay_steps": 8, "final": 0.1}


@pytest.mark.parametrize("schedule,step,w", [
    ("linear", 0, 0.0), ("linear", 2, 0.3), ("linear", 4, 0.6), ("linear", 6, 0.475), ("linear", 10, 0.225),
    ("linear", 12, 0.1), ("linear", 50, 0.1),
    # cosine: final + (peak - final) / 2 * (1 + cos(pi * t / 8)), t = step - 4; warm-up stays linear
    ("cosine", 2, 0.3), ("cosine", 4, 0.6), ("cosine", 6, 0.1 + 0.25 * (1 + 0.7071067812)), ("cosine", 8, 0.35),
    ("cosine", 10, 0.1 + 0.25 * (1 - 0.7071067812)), ("cosine", 12, 0.1), ("cosine", 50, 0.1),
])
def test_weight_schedules_through_the_hook(openrlhf_real, install_hook, schedule, step, w):
    install_hook(weight={**WEIGHT, "schedule": schedule})
    out = hook_rows(_two_groups(4.0, 1.0), micro_batch_size=3, step=step)
    adv = row_advantages(out)
    # unweighted reference advantages: (4 - 2) / 1 = 2 and (1 - 4) / 2 = -1.5; policy rows never weighted
    assert adv == pytest.approx([-1, 0, 1, 2 * w, -1, -1.5 * w, 0, 1], abs=1e-5)
    assert per_row(out, "hri/reference_weight")[0] == pytest.approx(w, abs=1e-6)


def test_no_decay_stays_at_peak_whatever_final(openrlhf_real, install_hook):
    install_hook(weight={**WEIGHT, "decay_steps": 0})
    out = hook_rows(_two_groups(4.0, 1.0), step=1000)
    assert per_row(out, "hri/reference_weight")[0] == pytest.approx(0.6)
    assert row_advantages(out)[3] == pytest.approx(1.2, abs=1e-5)


def test_same_logged_keys_with_hri_on_and_off(openrlhf_real, install_hook):
    """Imputation happens either way, so hri/imputed and the other diagnostics are logged either way."""
    g0 = [(1, "p"), (0, "fail"), (3, "p"), (5, "p")]
    install_hook(hri_enabled=True, weight={"peak": 0.4, "warmup_steps": 0})
    on = hook_rows(_rows([g0, [(2, "p"), (4, "p"), (6, "p"), (9, "r")]]), micro_batch_size=3, step=2)
    from polaris.hri import hook as hri_hook

    hri_hook.uninstall()
    install_hook(hri_enabled=False)
    off = hook_rows(_rows([g0, [(2, "p"), (4, "p"), (6, "p"), (8, "p")]]), micro_batch_size=3, step=2)
    assert [set(b.info) for b in on] == [set(b.info) for b in off]
    assert HRI_KEYS <= set(off[0].info)
    assert all(len(v) == len(b.index) for b in off for v in b.info.values())
    assert per_row(on, "hri/imputed")[0] == per_row(off, "hri/imputed")[0] == 1.0

    imputed = (1 + 3 + 5 + 2 + 4 + 6 + 8) / 7  # no reward config: mean of the successful policy rows
    assert per_row(off, "rewards")[1] == pytest.approx(imputed)
    g0_r, g1_r = [1, imputed, 3, 5], [2, 4, 6, 8]
    expect = {"imputed": 1.0, "reference_weight": 0.0, "groups_with_reference": 0.0, "reference_reward_mean": 0.0,
              "reference_beats_all": 0.0, "reference_advantage_mean": 0.0,
              "policy_reward_mean": (sum(g0_r) + sum(g1_r)) / 8, "policy_reward_best": (5 + 8) / 2,
              "policy_reward_std": (statistics.stdev(g0_r) + statistics.stdev(g1_r)) / 2}
    for k, v in expect.items():
        assert per_row(off, f"hri/{k}") == pytest.approx([v] * 8, abs=1e-5), k
    assert per_row(off, "ref_reward_x_n") == [0.0] * 8


def test_ref_reward_x_n_averages_over_groups_that_hold_a_reference(openrlhf_real, install_hook):
    """Group 2's reference was dropped (too long), group 3's failed judging and is imputed."""
    install_hook(weight={"peak": 0.4, "warmup_steps": 0})
    rows = _rows([[(1, "p"), (2, "p"), (3, "p"), (6, "r")],
                  [(1, "p"), (2, "p"), (3, "p"), (2, "r")],
                  [(1, "p"), (2, "p"), (3, "p"), (2.5, "drop")],
                  [(1, "p"), (2, "p"), (3, "p"), (0, "rfail")]])
    out = hook_rows(rows, micro_batch_size=3, step=0)
    rewards = per_row(out, "rewards")
    assert rewards[15] == pytest.approx(4.0)  # (6 + 2) / 2, the successful references
    x_n = per_row(out, "ref_reward_x_n")
    # OpenRLHF logs the sample mean over the batch: it must be the mean of the 3 references, (6 + 2 + 4) / 3
    assert sum(x_n) / len(x_n) == pytest.approx(4.0)
    assert [x_n[i] for i in (3, 7, 15)] == pytest.approx([6 * 16 / 3, 2 * 16 / 3, 4 * 16 / 3])
    assert all(x_n[i] == 0.0 for i in range(16) if i not in (3, 7, 15))
    assert per_row(out, "hri/reference_reward_mean")[0] == pytest.approx(4.0)
    assert per_row(out, "hri/groups_with_reference")[0] == 3.0
    assert per_row(out, "reference_dropped") == [float(i == 11) for i in range(16)]
