"""Pure HRI arithmetic: group advantages, the reference-weight schedule, per-step diagnostics.

No torch, no OpenRLHF: the trainer-side hook calls these on plain floats so the numbers the
tests check are exactly the numbers training uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = ["group_advantages", "reference_weight", "diagnostics", "GroupResult"]


def _check_finite(values: Sequence[float], what: str) -> None:
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise ValueError(f"{what}[{i}] is {v!r}; every score must be a finite number (impute failed judgments first)")


def group_advantages(
    scores: Sequence[float],
    is_reference: Sequence[bool],
    *,
    exclude_reference_from_stats: bool,
    reference_weight: float,
    clip_negative_reference: bool = False,
    normalize_by_std: bool = True,
    eps: float = 1e-6,
) -> list[float]:
    """Advantages of one GRPO group that may hold human-reference rows.

    Statistics rows are the policy rows when ``exclude_reference_from_stats`` (POLARIS), all rows
    otherwise (LUFFY-style). Mean and unbiased sample std are taken over them; a single statistics
    row gives mean 0 and std 1 (as POLARIS's fork). ``A = (s - mean) / (std + eps)``, or ``s - mean``
    without std normalisation. A reference row is then clipped at 0 (if asked) and multiplied by
    ``reference_weight``.
    """
    scores = [float(s) for s in scores]
    flags = [bool(f) for f in is_reference]
    if len(scores) != len(flags):
        raise ValueError(f"scores has {len(scores)} rows but is_reference has {len(flags)}")
    if not scores:
        raise ValueError("a group needs at least one row")
    _check_finite(scores, "scores")
    stats = [s for s, ref in zip(scores, flags) if not (exclude_reference_from_stats and ref)]
    if not stats:
        raise ValueError("the group has only reference rows; excluding them leaves no statistics rows")
    if len(stats) == 1:
        mean, std = 0.0, 1.0
    else:
        mean = sum(stats) / len(stats)
        std = math.sqrt(sum((s - mean) ** 2 for s in stats) / (len(stats) - 1))
    out = []
    for s, ref in zip(scores, flags):
        a = (s - mean) / (std + eps) if normalize_by_std else s - mean
        if ref:
            if clip_negative_reference:
                a = max(0.0, a)
            a *= reference_weight
        out.append(a)
    return out


def reference_weight(
    step: int,
    *,
    peak: float,
    warmup_steps: int,
    decay_steps: int = 0,
    final: float = 0.0,
    schedule: str = "linear",
) -> float:
    """Reference-advantage weight at 0-based training ``step``.

    Linear warm-up ``peak * step / warmup_steps`` (``warmup_steps`` 0: ``peak`` at once), then a
    linear or cosine decay from ``peak`` to ``final`` over ``decay_steps``, then ``final`` if there
    was a decay, else ``peak`` forever.
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if warmup_steps < 0 or decay_steps < 0:
        raise ValueError("warmup_steps and decay_steps must be >= 0")
    if schedule not in ("linear", "cosine"):
        raise ValueError(f"schedule must be 'linear' or 'cosine', got {schedule!r}")
    if step < warmup_steps:
        return peak * step / warmup_steps
    if decay_steps == 0:
        return peak
    t = step - warmup_steps
    if t >= decay_steps:
        return final
    frac = t / decay_steps
    if schedule == "linear":
        return peak + (final - peak) * frac
    return final + (peak - final) * 0.5 * (1.0 + math.cos(math.pi * frac))


@dataclass(frozen=True)
class GroupResult:
    """One group after advantage computation, as the diagnostics need it."""

    scores: Sequence[float]
    is_reference: Sequence[bool]
    advantages: Sequence[float]
    imputed: Sequence[bool] = field(default_factory=tuple)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def diagnostics(groups: Iterable[GroupResult]) -> dict[str, float]:
    """Per-step HRI diagnostics (plain floats; 0.0 where a quantity has no rows).

    * ``reference_reward_mean``: mean reward of the reference rows.
    * ``policy_reward_mean``: mean reward of the policy rows.
    * ``policy_reward_best``: mean over groups of the best policy reward in the group.
    * ``reference_beats_all``: share of groups with a reference whose reference reward is above
      every policy reward of that group.
    * ``reference_advantage_mean``: mean final (weighted) reference advantage.
    * ``policy_reward_std``: mean over groups of the within-group (unbiased) policy reward std.
    * ``imputed``: number of rows whose reward was imputed after a judge failure.
    * ``groups_with_reference``: number of groups holding a reference row.
    """
    ref_rewards: list[float] = []
    ref_advs: list[float] = []
    pol_rewards: list[float] = []
    bests: list[float] = []
    stds: list[float] = []
    beats: list[float] = []
    imputed = 0
    for g in groups:
        pol = [s for s, r in zip(g.scores, g.is_reference) if not r]
        refs = [(s, a) for s, r, a in zip(g.scores, g.is_reference, g.advantages) if r]
        imputed += sum(1 for x in g.imputed if x)
        pol_rewards.extend(pol)
        if pol:
            bests.append(max(pol))
        if len(pol) > 1:
            m = _mean(pol)
            stds.append(math.sqrt(sum((s - m) ** 2 for s in pol) / (len(pol) - 1)))
        for s, a in refs:
            ref_rewards.append(s)
            ref_advs.append(a)
        if refs:
            beats.append(1.0 if pol and all(s > max(pol) for s, _ in refs) else 0.0)
    return {
        "reference_reward_mean": _mean(ref_rewards),
        "policy_reward_mean": _mean(pol_rewards),
        "policy_reward_best": _mean(bests),
        "reference_beats_all": _mean(beats),
        "reference_advantage_mean": _mean(ref_advs),
        "policy_reward_std": _mean(stds),
        "imputed": float(imputed),
        "groups_with_reference": float(len(beats)),
    }
