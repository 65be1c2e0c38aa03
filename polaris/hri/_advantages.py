"""HRI replacement for OpenRLHF 0.11.2's ``RemoteExperienceMaker.compute_advantages_and_returns``
(group_norm only) and the failed-judgment imputation. Imports torch; used by ``polaris.hri.hook``.

Everything except the group statistics is OpenRLHF's own code, called through the
experience_maker module: ``apply_length_penalties``, ``compute_reward`` (reward clip, KL term,
reward on the last action token) and ``get_cumulative_returns`` (per-token broadcast). Like
stock group_norm there is no batch whitening afterwards.
"""

from __future__ import annotations

import itertools
import logging

import torch

from polaris.hri._math import GroupResult, diagnostics, group_advantages, reference_weight
from polaris.hri.config import HookConfig, HookError

__all__ = ["HookError", "impute_failed", "hri_advantages", "diagnostics_without_hri"]

logger = logging.getLogger("polaris.hri.hook")


def _row_values(experiences, key: str) -> list[float]:
    return [float(v) for e in experiences for v in e.info[key].flatten().tolist()]


def _set_rows(experiences, key: str, values: list[float]) -> None:
    it = iter(values)
    for e in experiences:
        n = len(e.info[key])
        e.info[key] = torch.tensor([next(it) for _ in range(n)], dtype=e.info[key].dtype)


def impute_failed(experiences, cfg: HookConfig) -> list[bool]:
    """Replace 0.0 placeholders of failed judgments (``info["judge_failed"] == 1``).

    POLARIS's rule: a failed row's story quality becomes the batch mean of the successful story
    qualities, and its reward is the composite recomputed (``polaris.reward.composite``) from that
    value and the row's own deterministic components (repetition, length, blank, ... logged by
    the executor). When the rows carry no components (an older executor config), the row gets
    the mean reward of the successful rows of the same kind instead (``ref_reward_x_n`` is
    rewritten later by ``log_diagnostics``). Returns a per-row "imputed" flag in batch
    (micro-batch concatenation) order.
    Aborts above ``cfg.abort_failed_fraction``.
    """
    if "judge_failed" not in experiences[0].info:
        raise HookError(
            "polaris hook: rows carry no 'judge_failed' log; the job must run the Polaris executor "
            "(--train.agent_func_path plugins/polaris_executor.py)")
    failed = [v >= 0.5 for v in _row_values(experiences, "judge_failed")]
    is_ref = [v >= 0.5 for v in _row_values(experiences, "is_reference")]
    rewards = [float(v) for e in experiences for v in e.rewards.flatten().tolist()]
    n_failed, total = sum(failed), len(failed)
    if n_failed == 0:
        return failed
    share = n_failed / total
    if share > cfg.abort_failed_fraction or n_failed == total:
        raise HookError(
            f"polaris hook: {n_failed} of {total} rows ({share:.0%}) failed judging this step, above "
            f"abort_failed_fraction {cfg.abort_failed_fraction}; training stops rather than learn from imputed "
            "rewards. Check the reward service (/healthz, /metrics) and the judge provider.")
    sq = _row_values(experiences, "story_quality") if "story_quality" in experiences[0].info else None
    # Rows with a real judge score: not failed, and judged (a floored or fixed-reward row logs SQ 0
    # without one). Executors older than the "judged" log: every successful row.
    scored = ([v >= 0.5 and not f for v, f in zip(_row_values(experiences, "judged"), failed)]
              if "judged" in experiences[0].info else [not f for f in failed])

    def mean_of(values, kind, ok_rows):
        ok = [v for v, k, r in zip(values, ok_rows, is_ref) if k and r == kind]
        ok = ok or [v for v, k in zip(values, ok_rows) if k]
        return sum(ok) / len(ok) if ok else None

    succeeded = [not f for f in failed]
    new_r = [mean_of(rewards, r, succeeded) if f else v for v, f, r in zip(rewards, failed, is_ref)]
    new_sq = None
    if sq is not None and any(scored):
        new_sq = [mean_of(sq, r, scored) if f else v for v, f, r in zip(sq, failed, is_ref)]
    recomputed = _composite_with_mean_sq(experiences, failed, sq, scored, cfg)
    if recomputed is not None:  # rows whose penalties are known get POLARIS's rule, others the scalar mean
        rec_r, rec_sq, known = recomputed
        new_r = [a if k else b for a, b, k in zip(rec_r, new_r, known)]
        new_sq = [a if k else b for a, b, k in zip(rec_sq, new_sq, known)]
    it = iter(new_r)
    for e in experiences:
        e.rewards = torch.tensor([next(it) for _ in range(len(e.rewards))], dtype=e.rewards.dtype)
        if "reward" in e.info:
            e.info["reward"] = e.rewards.clone()
        if "score" in e.info:
            e.info["score"] = e.rewards.clone()
    if new_sq is not None:
        _set_rows(experiences, "story_quality", new_sq)
    logger.warning("polaris hook: imputed %d of %d failed judgments with the batch mean", n_failed, total)
    return failed


_COMPONENT_KEYS = ("repetition", "blank", "length_penalty", "length_score_sl", "overlong", "think_penalty")


def _composite_with_mean_sq(experiences, failed: list[bool], sq: list[float] | None, scored: list[bool],
                            cfg: HookConfig):
    """(rewards, story_qualities, known) with failed rows recomputed from the mean SQ of the
    ``scored`` rows (POLARIS: the batch mean of valid scores), or None when that cannot be done.

    ``known`` marks the rows whose deterministic components were logged (``components_logged``).
    """
    info = experiences[0].info
    if sq is None or not any(scored) or not cfg.reward or any(k not in info for k in _COMPONENT_KEYS):
        return None
    known = ([v >= 0.5 for v in _row_values(experiences, "components_logged")]
             if "components_logged" in info else [True] * len(failed))
    from polaris.reward import Components, composite
    from polaris.schema.reward import RewardConfig

    reward_cfg = RewardConfig.model_validate(cfg.reward)
    valid = [v for v, ok in zip(sq, scored) if ok]
    mean_sq = sum(valid) / len(valid)
    new_sq = [mean_sq if f else v for v, f in zip(sq, failed)]
    cols = {k: _row_values(experiences, k) for k in _COMPONENT_KEYS}
    rewards = [float(v) for e in experiences for v in e.rewards.flatten().tolist()]
    out = []
    for i, (f, r) in enumerate(zip(failed, rewards)):
        if not f or not known[i]:
            out.append(r)
            continue
        comps = Components(
            words=0, story="", format_ok=True, injection_flag=False,
            **{k: cols[k][i] for k in _COMPONENT_KEYS},
        )
        out.append(float(composite(new_sq[i], comps, reward_cfg)))
    return out, new_sq, known


def _grouped(experiences, n: int, imputed: list[bool]):
    """(rewards, is_ref, imputed) as (groups, n) tensors in prompt order, plus ``indices`` and ``exp_len``."""
    exp_len = [len(e.index) for e in experiences]
    indices = torch.tensor(list(itertools.chain.from_iterable(e.index for e in experiences)))
    raw = torch.cat([e.rewards for e in experiences], dim=0)
    rewards = torch.empty_like(raw)
    rewards[indices] = raw  # original prompt order, so reshape(-1, n) gives the groups
    ref_raw = torch.tensor(_row_values(experiences, "is_reference"))
    is_ref = torch.empty_like(ref_raw)
    is_ref[indices] = ref_raw
    imp = torch.empty(len(imputed), dtype=torch.bool)
    imp[indices] = torch.tensor(imputed, dtype=torch.bool)
    if rewards.numel() % n:
        raise HookError(f"polaris hook: {rewards.numel()} rows is not a multiple of n_samples_per_prompt={n}")
    return rewards.reshape(-1, n), is_ref.reshape(-1, n) >= 0.5, imp.reshape(-1, n), indices, exp_len


def log_diagnostics(experiences, groups: list[GroupResult], w: float, indices, exp_len, step: int) -> None:
    """The same ``hri/*`` keys with HRI on or off (OpenRLHF reduces identical metric keys each step),
    and ``ref_reward_x_n`` rescaled so its batch mean is the mean reference reward over the groups
    that hold one: ``reward * rows / reference_rows`` on reference rows, 0 elsewhere."""
    stats = diagnostics(groups)
    stats["reference_weight"] = w
    for e in experiences:
        b = len(e.index)
        for k, v in stats.items():
            e.info[f"hri/{k}"] = torch.full((b,), float(v))
    if "ref_reward_x_n" in experiences[0].info:
        flat = [(s, r) for g in groups for s, r in zip(g.scores, g.is_reference)]
        n_ref = sum(1 for _, r in flat if r)
        scale = len(flat) / n_ref if n_ref else 0.0
        vals = torch.tensor([s * scale if r else 0.0 for s, r in flat], dtype=torch.float32)
        for e, v in zip(experiences, vals[indices].split(exp_len)):
            e.info["ref_reward_x_n"] = v.to(e.info["ref_reward_x_n"].dtype)
    logger.info("polaris HRI step %d: %s", step, {k: round(v, 4) for k, v in stats.items()})


def diagnostics_without_hri(experiences, n: int, step: int, imputed: list[bool]) -> None:
    """HRI off: after stock advantages, log the same keys (no reference rows, weight 0)."""
    rewards, is_ref, imp, indices, exp_len = _grouped(experiences, n, imputed)
    groups = [GroupResult(s, r, [0.0] * n, i) for s, r, i in zip(rewards.tolist(), is_ref.tolist(), imp.tolist())]
    log_diagnostics(experiences, groups, 0.0, indices, exp_len, step)


def hri_advantages(maker, em_module, experiences, cfg: HookConfig, step: int, imputed: list[bool]):
    """group_norm with HRI statistics; same tensors, shapes and info keys as the stock method."""
    args = maker.strategy.args
    n = args.rollout.n_samples_per_prompt
    for e in experiences:
        e.rewards = e.rewards.to(torch.promote_types(e.rewards.dtype, torch.float32))
    em_module.apply_length_penalties(experiences, args)
    rewards, is_ref, imp, indices, exp_len = _grouped(experiences, n, imputed)

    if n > 1:  # identical to stock: std over all rows of the group
        stds = rewards.std(-1, keepdim=True).repeat(1, n).reshape(-1)[indices].split(exp_len)
        for e, s in zip(experiences, stds):
            e.info["group_reward_std"] = s

    w = reference_weight(step, peak=cfg.weight.peak, warmup_steps=cfg.weight.warmup_steps,
                         decay_steps=cfg.weight.decay_steps, final=cfg.weight.final, schedule=cfg.weight.schedule)
    adv_rows, groups = [], []
    for scores, refs, imps in zip(rewards.tolist(), is_ref.tolist(), imp.tolist()):
        adv = group_advantages(scores, refs, exclude_reference_from_stats=cfg.exclude_reference_from_stats,
                               reference_weight=w, clip_negative_reference=cfg.clip_negative_reference,
                               normalize_by_std=cfg.normalize_by_std, eps=cfg.eps)
        adv_rows.append(adv)
        groups.append(GroupResult(scores, refs, adv, imps))
    adv_t = torch.tensor(adv_rows, dtype=rewards.dtype)
    per_exp = adv_t.reshape(-1)[indices].split(exp_len)

    for e, r in zip(experiences, per_exp):
        reward = em_module.compute_reward(r, maker.kl_ctl.value, e.kl, action_mask=e.action_mask,
                                          reward_clip_range=args.reward.clip_range)
        if args.algo.advantage.gamma != 1.0:
            logger.warning("gamma is set to 1.0 for group_norm")
            args.algo.advantage.gamma = 1.0
        e.returns = maker.get_cumulative_returns(reward, e.action_mask, args.algo.advantage.gamma)
        e.advantages = e.returns.clone()
        e.info["return"] = reward.sum(dim=-1)
        e.kl = None

    log_diagnostics(experiences, groups, w, indices, exp_len, step)
    return experiences
