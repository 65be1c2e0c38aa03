"""Polaris's own copies of the checks OpenRLHF 0.11.2 only makes inside `train()` or at run time.

The `__main__` block (run by `_validator.validate_argv`) accepts some argvs that fail minutes later on
the GPU cluster, or worse, run and silently do the wrong thing. `check_train_time` takes the
hierarchized args the block produced and repeats those checks up front. Sources, all 0.11.2:

* `cli/train_ppo_ray.py:41-46, 56-64, 109-113`: topology asserts in `train()`.
* `utils/deepspeed/deepspeed.py:455-456`: DeepSpeed gets `train_batch_size = train.batch_size·ring·tp`
  and `train_micro_batch_size_per_gpu = train.micro_batch_size`; DeepSpeed then requires
  `train_batch_size == micro · grad_accum · world_size` with `grad_accum ≥ 1`.
* `trainer/ppo_utils/experience_maker.py:70-76` + `trainer/ray/launcher.py:346-371`: rollout samples are
  cut into micro-batches of `rollout.micro_batch_size` and dealt to DP ranks in `ceil(E/DP)` chunks;
  unequal shares give ranks different numbers of forward/backward passes (collectives hang).
* `trainer/ray/ppo_actor.py:163-190` + `utils/loss_utils.py:80-105`: each rank trains on its share with
  `drop_last=True`; gradient-accumulation windows that do not close within a rollout spill into the next.
* `trainer/ppo_utils/samples_generator.py:261-263`: sequences are cut at `data.max_len` (no EOS).
* `models/utils.py:141-142`: rewards are clamped into `reward.clip_range`.
* openrlhf.md §7: packing (also forced by dynamic batch / ring attention) corrupts Qwen3.5's
  Gated-DeltaNet layers in 0.11.2 + transformers 5.15.

Pure and stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

_MISSING = object()


@dataclass
class TrainCheckProblem:
    """One problem OpenRLHF's parser would not catch. `severity` is "error" or "warning"."""

    code: str
    flags: list[str]
    message: str
    hint: str
    severity: str = "error"
    details: dict = field(default_factory=dict)


def _get(args: SimpleNamespace, dotted: str, default: object = _MISSING) -> object:
    cur: object = args
    for part in dotted.split("."):
        cur = getattr(cur, part, _MISSING)
        if cur is _MISSING:
            if default is _MISSING:
                raise KeyError(f"args has no {dotted!r}: pass the namespace validate_argv returned")
            return default
    return cur


def is_qwen35(model_id: str | None) -> bool:
    """True for Qwen3.5 checkpoints (id or local path containing qwen3.5 / qwen3_5 / qwen3-5)."""
    return bool(model_id) and re.search(r"qwen3[._-]5", model_id, re.IGNORECASE) is not None


def _topology_checks(args: SimpleNamespace) -> list[TrainCheckProblem]:
    out: list[TrainCheckProblem] = []
    a_nodes, a_gpn = _get(args, "actor.num_nodes"), _get(args, "actor.num_gpus_per_node")
    actor_gpus = a_nodes * a_gpn
    colocate_all = bool(_get(args, "train.colocate_all", False))
    engines = _get(args, "vllm.num_engines", None) or 0
    vtp = _get(args, "vllm.tensor_parallel_size", 1)
    if engines > 0 and colocate_all and not _get(args, "train.async_enable", False) and engines * vtp != actor_gpus:
        out.append(TrainCheckProblem(
            code="colocate_gpu_count",
            flags=["--vllm.num_engines", "--vllm.tensor_parallel_size", "--actor.num_nodes", "--actor.num_gpus_per_node"],
            message=f"with --train.colocate_all, vLLM engines × TP ({engines} × {vtp} = {engines * vtp}) must equal "
            f"the actor GPUs ({a_nodes} × {a_gpn} = {actor_gpus}); OpenRLHF asserts this inside train()",
            hint=f"set --vllm.num_engines {max(actor_gpus // vtp, 1)} (TP {vtp}) or change the actor layout",
        ))
    if (colocate_all or _get(args, "train.colocate_actor_ref", False)) and _get(args, "algo.kl.init_coef", 0) > 0:
        r_nodes, r_gpn = _get(args, "ref.num_nodes"), _get(args, "ref.num_gpus_per_node")
        if (r_nodes, r_gpn) != (a_nodes, a_gpn):
            out.append(TrainCheckProblem(
                code="ref_topology",
                flags=["--ref.num_nodes", "--ref.num_gpus_per_node", "--actor.num_nodes", "--actor.num_gpus_per_node"],
                message=f"colocated reference model ({r_nodes}×{r_gpn}) must use the actor's layout ({a_nodes}×{a_gpn}) "
                "when KL is on (--algo.kl.init_coef > 0)",
                hint=f"pass --ref.num_nodes {a_nodes} --ref.num_gpus_per_node {a_gpn}, or --algo.kl.init_coef 0",
            ))
    if _get(args, "critic.model_name_or_path", None) and _get(args, "train.colocate_critic_reward", False):
        c = (_get(args, "critic.num_nodes"), _get(args, "critic.num_gpus_per_node"))
        r = (_get(args, "reward.num_nodes"), _get(args, "reward.num_gpus_per_node"))
        if c != r:
            out.append(TrainCheckProblem(
                code="critic_reward_topology",
                flags=["--critic.num_nodes", "--critic.num_gpus_per_node", "--reward.num_nodes", "--reward.num_gpus_per_node"],
                message=f"colocated critic ({c[0]}×{c[1]}) and reward model ({r[0]}×{r[1]}) need the same layout",
                hint="give --critic.* and --reward.* the same num_nodes / num_gpus_per_node",
            ))
    return out


def _batch_checks(args: SimpleNamespace) -> list[TrainCheckProblem]:
    out: list[TrainCheckProblem] = []
    actor_gpus = _get(args, "actor.num_nodes") * _get(args, "actor.num_gpus_per_node")
    ring, dstp = _get(args, "ds.ring_attn_size", 1), _get(args, "ds.tensor_parallel_size", 1)
    if actor_gpus % (ring * dstp):
        return [TrainCheckProblem(
            code="parallel_layout",
            flags=["--ds.ring_attn_size", "--ds.tensor_parallel_size", "--actor.num_gpus_per_node"],
            message=f"actor GPUs ({actor_gpus}) are not divisible by ring_attn_size × ds.tensor_parallel_size "
            f"({ring} × {dstp}); the DeepSpeed device mesh cannot be built",
            hint="choose ring/TP sizes that divide the number of actor GPUs",
        )]
    if _get(args, "train.dynamic_batch_enable", False):
        return out  # batch sizes are token-budget driven; DeepSpeed gets micro 1 / no global batch
    dp = actor_gpus // (ring * dstp)
    tbs, tmb = _get(args, "train.batch_size"), _get(args, "train.micro_batch_size")
    if tbs % (tmb * dp) or tbs < tmb * dp:
        out.append(TrainCheckProblem(
            code="ds_batch_divisibility",
            flags=["--train.batch_size", "--train.micro_batch_size"],
            message=f"--train.batch_size {tbs} must be a positive multiple of train.micro_batch_size × DP "
            f"({tmb} × {dp} = {tmb * dp}); DeepSpeed rejects the config at start-up",
            hint=f"use --train.batch_size {max(tbs // (tmb * dp), 1) * tmb * dp}",
            details={"dp": dp},
        ))
        return out
    n, rbs, rmb = _get(args, "rollout.n_samples_per_prompt"), _get(args, "rollout.batch_size"), _get(args, "rollout.micro_batch_size")
    samples = rbs * n
    if samples % rmb or (samples // rmb) % dp:
        out.append(TrainCheckProblem(
            code="rollout_shards_unequal",
            flags=["--rollout.batch_size", "--rollout.n_samples_per_prompt", "--rollout.micro_batch_size"],
            message=f"rollout.batch_size × n = {samples} samples in micro-batches of {rmb} cannot be dealt evenly to "
            f"{dp} DP ranks; ranks would run different numbers of passes and the collectives hang",
            hint=f"make rollout.batch_size × n_samples_per_prompt a multiple of rollout.micro_batch_size × DP = {rmb * dp}",
            details={"dp": dp, "samples": samples},
        ))
        return out
    if samples % tbs:
        out.append(TrainCheckProblem(
            code="rollout_train_ratio",
            flags=["--rollout.batch_size", "--rollout.n_samples_per_prompt", "--train.batch_size"],
            message=f"rollout.batch_size × n = {samples} is not a multiple of --train.batch_size {tbs}: "
            + ("one optimizer step spans several rollouts" if samples < tbs
               else "the last, partial gradient-accumulation window spills into the next rollout")
            + (f" and {(samples // dp) % tmb} sample(s) per rank are dropped each rollout" if (samples // dp) % tmb else ""),
            hint=f"choose --train.batch_size dividing {samples} (e.g. {samples}: one optimizer step per rollout)",
            severity="warning",
            details={"steps_per_rollout": samples / tbs},
        ))
    return out


def _length_checks(args: SimpleNamespace, prompt_tokens: int | None, reference_tokens: int | None) -> list[TrainCheckProblem]:
    out: list[TrainCheckProblem] = []
    max_len, new = _get(args, "data.max_len"), _get(args, "rollout.max_new_tokens", None)
    if new is not None and (prompt_tokens or 0) + new > max_len:
        out.append(TrainCheckProblem(
            code="length_budget",
            flags=["--data.max_len", "--rollout.max_new_tokens"],
            message=f"prompt ({prompt_tokens if prompt_tokens is not None else 'unknown'} tokens) + max_new_tokens ({new}) "
            f"exceeds --data.max_len {max_len}: long samples are cut at max_len without an end token "
            "(data.max_len is also vLLM's max_model_len)",
            hint=f"raise --data.max_len to at least {(prompt_tokens or 0) + new} or lower --rollout.max_new_tokens",
        ))
    elif new is None and prompt_tokens is not None and prompt_tokens >= max_len:
        out.append(TrainCheckProblem(
            code="length_budget",
            flags=["--data.max_len"],
            message=f"prompts of {prompt_tokens} tokens leave no room to generate within --data.max_len {max_len}",
            hint="raise --data.max_len or shorten the prompts",
        ))
    if reference_tokens is not None:
        budget = new if new is not None else max_len - (prompt_tokens or 0)
        if reference_tokens + 1 > budget:  # +1: the end-of-turn token appended to the reference
            out.append(TrainCheckProblem(
                code="reference_too_long",
                flags=["--rollout.max_new_tokens", "--data.max_len"],
                message=f"a human reference of {reference_tokens} tokens (+1 end token) does not fit the "
                f"generation budget of {budget} tokens; it would be cut without its end token",
                hint="filter long references out of the data or raise max_new_tokens / data.max_len",
            ))
    return out


def _reward_checks(args: SimpleNamespace, reward_range: tuple[float, float] | None) -> list[TrainCheckProblem]:
    if reward_range is None:
        return []
    lo, hi = _get(args, "reward.clip_range")
    r_lo, r_hi = reward_range
    if r_lo >= lo and r_hi <= hi:
        return []
    return [TrainCheckProblem(
        code="reward_clipped",
        flags=["--reward.clip_range"],
        message=f"rewards can range over [{r_lo}, {r_hi}] but OpenRLHF clamps them into --reward.clip_range "
        f"[{lo}, {hi}]; the excess is silently cut off",
        hint=f"pass --reward.clip_range {min(lo, r_lo)} {max(hi, r_hi)} or rescale the reward",
    )]


def _packing_checks(args: SimpleNamespace, model_id: str) -> list[TrainCheckProblem]:
    out: list[TrainCheckProblem] = []
    ring = _get(args, "ds.ring_attn_size", 1)
    dynamic = bool(_get(args, "train.dynamic_batch_enable", False))
    packing = bool(_get(args, "ds.packing_samples", False)) or ring > 1 or dynamic
    if packing and is_qwen35(model_id):
        causes = ["--ds.packing_samples"] + (["--train.dynamic_batch_enable"] if dynamic else []) + (
            ["--ds.ring_attn_size"] if ring > 1 else [])
        out.append(TrainCheckProblem(
            code="qwen35_packing",
            flags=causes,
            message=f"{model_id}: sample packing (also forced by dynamic batch and ring attention) leaks "
            "Gated-DeltaNet state across packed samples in OpenRLHF 0.11.2 + transformers 5.15, silently "
            "corrupting log-probs and gradients",
            hint="drop --ds.packing_samples, --train.dynamic_batch_enable and --ds.ring_attn_size; keep micro-batches at 1",
        ))
    if packing and not (_get(args, "vllm.num_engines", None) or 0) > 0:
        out.append(TrainCheckProblem(
            code="packing_needs_vllm",
            flags=["--ds.packing_samples", "--vllm.num_engines"],
            message="sample packing is only supported with vLLM generation (--vllm.num_engines > 0)",
            hint="set --vllm.num_engines or turn packing off",
        ))
    return out


def _resource_checks(args: SimpleNamespace) -> list[TrainCheckProblem]:
    out: list[TrainCheckProblem] = []
    util = _get(args, "vllm.gpu_memory_utilization", 0.0)
    if _get(args, "train.colocate_all", False) and (_get(args, "vllm.num_engines", None) or 0) > 0 and util >= 0.9:
        out.append(TrainCheckProblem(
            code="colocate_vllm_share",
            flags=["--vllm.gpu_memory_utilization"],
            message=f"colocated vLLM may claim {util:.0%} of every GPU, leaving almost nothing for DeepSpeed",
            hint="use 0.55-0.7 for a 9B model (see `polaris plan`)",
            severity="warning",
        ))
    if _get(args, "ds.enable_sleep", False) and _get(args, "ds.adam_offload", False):
        out.append(TrainCheckProblem(
            code="sleep_with_adam_offload",
            flags=["--ds.enable_sleep", "--ds.adam_offload"],
            message="with --ds.adam_offload, DeepSpeed skips the sleep offload (deepspeed_utils.py:155-157)",
            hint="drop one of the two; sleep keeps Adam on the GPU and is much faster",
            severity="warning",
        ))
    return out


def check_train_time(
    args: SimpleNamespace,
    *,
    reward_range: tuple[float, float] | None,
    prompt_tokens: int | None,
    model_id: str,
    reference_tokens: int | None = None,
) -> list[TrainCheckProblem]:
    """Checks OpenRLHF makes only at run time, on the args `validate_argv` returned.

    `reward_range` is the (min, max) the reward can take; `prompt_tokens` the longest prompt in
    tokens (None = unknown); `model_id` the actor model id or path; `reference_tokens` the longest
    human reference in tokens (None = no references). Errors come before warnings.
    """
    problems = (
        _topology_checks(args)
        + _batch_checks(args)
        + _length_checks(args, prompt_tokens, reference_tokens)
        + _reward_checks(args, reward_range)
        + _packing_checks(args, model_id)
        + _resource_checks(args)
    )
    return sorted(problems, key=lambda p: p.severity != "error")
