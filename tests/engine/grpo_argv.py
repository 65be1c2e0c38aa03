"""A hand-written polaris GRPO argv for OpenRLHF 0.11.2 (modelled on openrlhf.md §1.3), for the engine tests."""

from __future__ import annotations


def grpo_argv(**overrides: object) -> list[str]:
    """The argv as a flat list; `overrides` maps flag (without `--`) → value, True (bare flag) or None (drop).

    Keys use `__` for dots: `rollout__n_samples_per_prompt=1` → `--rollout.n_samples_per_prompt 1`.
    """
    flags: dict[str, object] = {
        "actor.model_name_or_path": "Qwen/Qwen3.5-9B",
        "actor.num_nodes": 1,
        "actor.num_gpus_per_node": 4,
        "ref.num_nodes": 1,
        "ref.num_gpus_per_node": 4,
        "vllm.num_engines": 4,
        "vllm.tensor_parallel_size": 1,
        "vllm.gpu_memory_utilization": 0.6,
        "vllm.enable_sleep": True,
        "train.colocate_all": True,
        "ds.enable_sleep": True,
        "ds.zero_stage": 3,
        "ds.param_dtype": "bf16",
        "actor.gradient_checkpointing_enable": True,
        "actor.freeze_visual_encoder": True,
        "algo.advantage.estimator": "group_norm",
        "algo.kl.init_coef": 0,
        "rollout.n_samples_per_prompt": 6,
        "rollout.batch_size": 32,
        "rollout.micro_batch_size": 1,
        "train.batch_size": 192,
        "train.micro_batch_size": 1,
        "data.max_len": 8448,
        "rollout.max_new_tokens": 8192,
        "rollout.temperature": 1.0,
        "actor.adam.lr": 1e-6,
        "actor.eps_clip_low_high": ["0.2", "0.27"],
        "reward.clip_range": ["-3", "3"],
        "train.agent_func_path": "polaris_executor.py",
        "data.prompt_dataset": "train.jsonl",
        "data.input_key": "prompt",
        "data.label_key": "label",
        "ckpt.save_hf": True,
        "ckpt.save_steps": 10,
        "ckpt.path": "ckpt",
        "ckpt.output_dir": "out",
        "logger.tensorboard_dir": "tb",
    }
    for key, value in overrides.items():
        flags[key.replace("__", ".")] = value
    argv: list[str] = []
    for flag, value in flags.items():
        if value is None or value is False:
            continue
        argv.append(f"--{flag}")
        if value is True:
            continue
        if isinstance(value, list):
            argv.extend(str(v) for v in value)
        else:
            argv.append(str(value))
    return argv
