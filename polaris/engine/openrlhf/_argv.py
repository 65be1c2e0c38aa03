"""Recipe -> OpenRLHF 0.11.2 argv, with the recipe field behind every flag.

Every flag is written explicitly (also where it equals OpenRLHF's default), so the compiled
argv says what runs even if a later release changes a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArgvPlan", "BundlePaths", "build_argv"]


@dataclass(frozen=True)
class BundlePaths:
    """Paths inside the job bundle (relative to the Ray working dir) that the argv names."""

    train_rendered: str = "data/train.rendered.jsonl"
    eval_rendered: str = "data/eval.rendered.jsonl"
    executor: str = "plugins/polaris_executor.py"
    checkpoints: str = "checkpoints"
    tensorboard: str = "tensorboard"


#: --reward.clip_range when grpo.advantage_clip is null: wide enough never to bind.
NO_ADVANTAGE_CLAMP = 1.0e9


@dataclass
class ArgvPlan:
    """The argv and, for each flag, the recipe fields that produced it."""

    argv: list[str] = field(default_factory=list)
    origins: dict[str, list[str]] = field(default_factory=dict)

    def add(self, flag: str, value: Any, *fields: str) -> None:
        self.argv.append(flag)
        if isinstance(value, (list, tuple)):
            self.argv.extend(_fmt(v) for v in value)
        elif value is not True:  # True = a store_true switch
            self.argv.append(_fmt(value))
        self.origins[flag] = list(fields)

    def switch(self, flag: str, on: bool, *fields: str) -> None:
        if on:
            self.add(flag, True, *fields)

    def fields_for(self, flags: list[str] | str | None) -> list[str]:
        names = [flags] if isinstance(flags, str) else list(flags or [])
        out: list[str] = []
        for f in names:
            for name in self.origins.get(f, []):
                if name not in out:
                    out.append(name)
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def build_argv(recipe: Any, *, paths: BundlePaths | None = None, checkpoint_dir: str | None = None) -> ArgvPlan:
    """The OpenRLHF `train_ppo_ray` argv for `recipe` (a validated `polaris.schema.Recipe`)."""
    p = paths or BundlePaths()
    r, g, c = recipe, recipe.grpo, recipe.cluster
    a = ArgvPlan()
    # Placement
    a.add("--actor.model_name_or_path", r.model.policy, "model.policy")
    a.add("--actor.num_nodes", c.nodes, "cluster.nodes")
    a.add("--actor.num_gpus_per_node", c.gpus_per_node, "cluster.gpus_per_node")
    if g.kl.coef > 0:
        a.add("--ref.num_nodes", c.nodes, "cluster.nodes", "grpo.kl.coef")
        a.add("--ref.num_gpus_per_node", c.gpus_per_node, "cluster.gpus_per_node", "grpo.kl.coef")
        a.switch("--ref.offload", c.ref_offload, "cluster.ref_offload")
    a.switch("--train.colocate_all", c.colocate == "all", "cluster.colocate")
    a.switch("--train.colocate_actor_ref", c.colocate == "actor_ref", "cluster.colocate")
    a.add("--vllm.num_engines", c.vllm.engines, "cluster.vllm.engines")
    a.add("--vllm.tensor_parallel_size", c.vllm.tensor_parallel_size, "cluster.vllm.tensor_parallel_size")
    a.add("--vllm.gpu_memory_utilization", c.vllm.gpu_memory_utilization, "cluster.vllm.gpu_memory_utilization")
    a.switch("--vllm.enable_sleep", c.vllm.enable_sleep, "cluster.vllm.enable_sleep")
    a.switch("--vllm.enforce_eager", c.vllm.enforce_eager, "cluster.vllm.enforce_eager")
    a.switch("--vllm.enable_prefix_caching", c.vllm.enable_prefix_caching, "cluster.vllm.enable_prefix_caching")
    # DeepSpeed
    a.add("--ds.zero_stage", c.zero_stage, "cluster.zero_stage")
    a.add("--ds.param_dtype", r.model.dtype, "model.dtype")
    a.add("--ds.attn_implementation", r.model.attn_implementation, "model.attn_implementation")
    a.switch("--ds.adam_offload", c.adam_offload, "cluster.adam_offload")
    a.switch("--ds.enable_sleep", c.deepspeed_sleep, "cluster.deepspeed_sleep")
    a.switch("--ds.packing_samples", c.packing, "cluster.packing")
    a.switch("--actor.gradient_checkpointing_enable", c.gradient_checkpointing, "cluster.gradient_checkpointing")
    a.switch("--actor.freeze_visual_encoder", r.model.freeze_visual_encoder, "model.freeze_visual_encoder")
    # Algorithm
    a.add("--algo.advantage.estimator", g.estimator, "grpo.estimator")
    a.switch("--algo.advantage.no_std_norm", not g.normalize_by_std, "grpo.normalize_by_std")
    a.add("--algo.advantage.is_correction_level", g.is_correction, "grpo.is_correction")
    a.add("--rollout.n_samples_per_prompt", g.samples_per_prompt, "grpo.samples_per_prompt")
    a.add("--rollout.batch_size", g.prompts_per_step, "grpo.prompts_per_step")
    a.add("--rollout.vllm_generate_batch_size", g.prompts_per_step, "grpo.prompts_per_step")
    a.add("--rollout.micro_batch_size", g.rollout_micro_batch_size, "grpo.rollout_micro_batch_size")
    a.add("--train.batch_size", g.train_batch_size, "grpo.train_batch_size")
    a.add("--train.micro_batch_size", g.micro_batch_size, "grpo.micro_batch_size")
    a.add("--train.max_epochs", g.epochs, "grpo.epochs")
    a.add("--train.num_episodes", g.num_episodes, "grpo.num_episodes")
    a.add("--train.seed", g.seed, "grpo.seed")
    a.add("--actor.adam.lr", g.lr, "grpo.lr")
    a.add("--actor.adam.weight_decay", g.weight_decay, "grpo.weight_decay")
    a.add("--actor.lr_scheduler", g.lr_scheduler, "grpo.lr_scheduler")
    a.add("--actor.lr_warmup_ratio", g.lr_warmup_ratio, "grpo.lr_warmup_ratio")
    a.add("--actor.min_lr_ratio", g.min_lr_ratio, "grpo.min_lr_ratio")
    a.add("--actor.max_norm", g.max_grad_norm, "grpo.max_grad_norm")
    a.add("--actor.eps_clip_low_high", [g.clip_low, g.clip_high], "grpo.clip_low", "grpo.clip_high")
    a.add("--actor.loss_agg_mode", g.loss_agg, "grpo.loss_agg")
    a.add("--actor.entropy_coef", g.entropy_coef, "grpo.entropy_coef")
    a.add("--algo.kl.init_coef", g.kl.coef, "grpo.kl.coef")
    a.add("--algo.kl.estimator", g.kl.estimator, "grpo.kl.estimator")
    a.switch("--algo.kl.use_loss", g.kl.use_loss, "grpo.kl.use_loss")
    a.switch("--algo.dynamic_filtering_enable", g.dynamic_filtering, "grpo.dynamic_filtering")
    # Lengths and sampling (top_k, min_p and repetition_penalty are applied by the executor)
    a.add("--data.max_len", g.max_len, "grpo.max_len")
    a.add("--rollout.max_new_tokens", g.max_new_tokens, "grpo.max_new_tokens")
    a.add("--rollout.temperature", g.sampling.temperature, "grpo.sampling.temperature")
    a.add("--rollout.top_p", g.sampling.top_p, "grpo.sampling.top_p")
    # Rewards come from the polaris executor; the engine's clip must hold the whole composite range.
    a.add("--train.agent_func_path", p.executor, "reference_injection", "reward")
    # OpenRLHF clamps what it gets after the group baseline, i.e. advantages, not rewards (the
    # composite is clipped by reward.clip in the service): no clamp unless the recipe asks for one
    adv_clip = g.advantage_clip if g.advantage_clip is not None else NO_ADVANTAGE_CLAMP
    a.add("--reward.clip_range", [-adv_clip, adv_clip], "grpo.advantage_clip")
    # Data: prompts are rendered by the polaris driver (OpenRLHF's chat templating cannot pass enable_thinking)
    a.add("--data.prompt_dataset", p.train_rendered, "data.train")
    a.add("--data.input_key", "prompt", "data.fields.prompt")
    a.add("--data.label_key", "label", "data.fields")
    if r.data.eval is not None:
        a.add("--eval.dataset", p.eval_rendered, "data.eval")
        a.add("--eval.steps", g.eval.every_steps if g.eval.every_steps is not None else -1, "grpo.eval.every_steps")
        a.add("--eval.temperature", g.eval.temperature, "grpo.eval.temperature")
        a.add("--eval.n_samples_per_prompt", g.eval.samples_per_prompt, "grpo.eval.samples_per_prompt")
    # Checkpoints and logging
    ckpt = checkpoint_dir or r.output.checkpoint_dir or p.checkpoints
    a.add("--ckpt.path", f"{ckpt}/ds", "output.checkpoint_dir")
    a.add("--ckpt.output_dir", f"{ckpt}/hf", "output.checkpoint_dir")
    a.add("--ckpt.save_steps", r.output.checkpoint_every_steps, "output.checkpoint_every_steps")
    a.add("--ckpt.max_num", r.output.max_checkpoints, "output.max_checkpoints")
    a.switch("--ckpt.save_hf", r.output.save_hf, "output.save_hf")
    a.add("--logger.logging_steps", r.logging.logging_steps, "logging.logging_steps")
    if r.logging.tensorboard_dir is not None:
        a.add("--logger.tensorboard_dir", r.logging.tensorboard_dir, "logging.tensorboard_dir")
    wb = r.logging.wandb
    if wb is not None:
        # OpenRLHF builds its W&B logger only when --logger.wandb.key is non-empty. The real key stays in
        # WANDB_API_KEY (forwarded by name); this placeholder names the variable and is not a secret.
        a.add("--logger.wandb.key", "WANDB_API_KEY", "logging.wandb")
        a.add("--logger.wandb.project", wb.project, "logging.wandb.project")
        if wb.entity:
            a.add("--logger.wandb.org", wb.entity, "logging.wandb.entity")
        if wb.group:
            a.add("--logger.wandb.group", wb.group, "logging.wandb.group")
        a.add("--logger.wandb.run_name", wb.run_name or r.name, "logging.wandb.run_name")
    return a
