"""The JSON configs the compiler writes for the driver, executor, hook, reward service and Ray job."""

from __future__ import annotations

from typing import Any

from polaris import OPENRLHF_VERSION

__all__ = [
    "REWARD_KEYS",
    "reward_service_config",
    "executor_config",
    "hook_config",
    "driver_config",
    "job_config",
    "HOOK_ENTRY",
]

#: Numeric reward components every row logs (identical key set on every row, as OpenRLHF requires).
REWARD_KEYS = [
    "story_quality",
    "repetition",
    "blank",
    "length_penalty",
    "length_score_sl",
    "overlong",
    "think_penalty",
    "injection_flag",
]
#: Ray runs this in every worker process (runtime_env worker_process_setup_hook).
HOOK_ENTRY = "polaris.hri.hook.install"
EXECUTOR_CONFIG = "polaris_executor.json"
HOOK_CONFIG = "polaris_hook.json"
STATE_DIR = "state/reward"


def reward_service_config(loaded: Any) -> dict[str, Any]:
    from polaris.resolve import rubric_ref
    from polaris.rubric import load_rubric, rubric_hash
    from polaris.service._config import ServiceConfig

    ref = rubric_ref(loaded)
    cfg = ServiceConfig.from_recipe(loaded.recipe, rubric_ref=ref)
    out = cfg.model_dump(mode="json")
    out["_rubric_hash"] = rubric_hash(load_rubric(ref))
    return out


def _service_url(recipe: Any) -> str:
    # Single node: loopback. Multi-node: the driver sets POLARIS_REWARD_SERVICE_URL to the head's address.
    return f"http://127.0.0.1:{recipe.cluster.reward_service_port}"


def executor_config(recipe: Any) -> dict[str, Any]:
    hri, s = recipe.reference_injection, recipe.grpo.sampling
    return {
        "samples_per_prompt": recipe.grpo.samples_per_prompt,
        "reference_slots": hri.slots_per_group,
        "hri_enabled": hri.enabled,
        "thinking": recipe.model.thinking,
        "reward_service_url": _service_url(recipe),
        "reward_token_env": "POLARIS_REWARD_TOKEN" if recipe.cluster.nodes > 1 else None,
        "reward_timeout_s": 900.0,
        "sampling": {"top_k": s.top_k, "repetition_penalty": s.repetition_penalty, "min_p": s.min_p},
        "eval_sampling": _eval_sampling(recipe),
        "end_of_turn_token": recipe.model.end_of_turn_token,
        "reward_keys": list(REWARD_KEYS),
        "require_reasoning_trace": hri.derive_require_reasoning_trace(recipe.model.thinking),
        "reference_reward_fixed": hri.fixed_reward if hri.reference_reward == "fixed" else None,
    }


def _eval_sampling(recipe: Any) -> dict[str, Any]:
    # In-loop evaluation: OpenRLHF sets only temperature and n; the executor applies the rest.
    s, e = recipe.grpo.sampling, recipe.grpo.eval

    def pick(name: str) -> Any:
        value = getattr(e, name)
        return getattr(s, name) if value is None else value

    return {"top_k": pick("top_k"), "repetition_penalty": pick("repetition_penalty"), "min_p": pick("min_p"),
            "top_p": pick("top_p")}


def hook_config(recipe: Any) -> dict[str, Any]:
    hri = recipe.reference_injection
    w = hri.weight
    return {
        "openrlhf_version": OPENRLHF_VERSION,
        "hri_enabled": hri.enabled,
        "exclude_reference_from_stats": hri.statistics == "exclude",
        "weight": {
            "peak": w.peak,
            "warmup_steps": w.warmup_steps,
            "decay_steps": w.decay_steps,
            "final": w.final,
            "schedule": w.schedule,
        },
        "clip_negative_reference": hri.clip_negative_advantage,
        "normalize_by_std": recipe.grpo.normalize_by_std,
        "reward": recipe.reward.model_dump(mode="json"),
        "abort_failed_fraction": recipe.reward.failure.abort_failed_fraction,
    }


def driver_config(recipe: Any, prepared: dict[str, Any]) -> dict[str, Any]:
    m = recipe.model
    return {
        "model": {
            "policy": m.policy,
            "thinking": m.thinking,
            "chat_template": m.chat_template,
            "system_prompt": m.system_prompt,
            "end_of_turn_token": m.end_of_turn_token,
            "trust_remote_code": m.trust_remote_code,
        },
        "max_prompt_tokens": recipe.grpo.max_prompt_tokens,
        "max_new_tokens": recipe.grpo.max_new_tokens,
        "sources": prepared["sources"],
        "row_spec": prepared["row_spec"],
        "overlong_references": recipe.data.filters.overlong_references,
        "hri_enabled": recipe.reference_injection.enabled,
        "require_reasoning_trace": recipe.reference_injection.derive_require_reasoning_trace(m.thinking),
        "rendered": {"train": "data/train.rendered.jsonl", "eval": "data/eval.rendered.jsonl"},
        "reward_service": {
            "port": recipe.cluster.reward_service_port,
            "state_dir": STATE_DIR,
            "token_env": "POLARIS_REWARD_TOKEN" if recipe.cluster.nodes > 1 else None,
            "bind": "0.0.0.0" if recipe.cluster.nodes > 1 else "127.0.0.1",
        },
        "worker_process_setup_hook": HOOK_ENTRY,
        "env": {"POLARIS_EXECUTOR_CONFIG": EXECUTOR_CONFIG, "POLARIS_HOOK_CONFIG": HOOK_CONFIG},
    }


def job_config(recipe: Any) -> dict[str, Any]:
    # Forwarded by NAME; `polaris run` fills the values in memory. The training judge's keys (and W&B's,
    # when logging there) are required; the eval judge's is optional (no step of the training job uses it).
    required = {m.api_key_env for m in recipe.judge.members() if m.api_key_env}
    if recipe.logging.wandb is not None:
        required.add("WANDB_API_KEY")
    optional = set()
    if recipe.judge.eval_judge is not None and recipe.judge.eval_judge.api_key_env:
        optional.add(recipe.judge.eval_judge.api_key_env)
    forward = [{"name": n, "required": True} for n in sorted(required)]
    forward += [{"name": n, "required": False} for n in sorted(optional - required)]
    return {
        "entrypoint": "python -m polaris.engine.openrlhf.driver --bundle .",
        # `polaris run` appends `--run-dir <abs dir>` at launch time (the bundle stays run-dir free)
        "run_dir_arg": "--run-dir",
        # ... and this switch when the run dir is where it wrote the bundle (Ray on its machine)
        "run_dir_holds_bundle_arg": "--run-dir-holds-bundle",
        "runtime_env": {
            "working_dir": ".",
            "env_vars": {
                "POLARIS_EXECUTOR_CONFIG": EXECUTOR_CONFIG,
                "POLARIS_HOOK_CONFIG": HOOK_CONFIG,
                "TOKENIZERS_PARALLELISM": "false",
            },
            "worker_process_setup_hook": HOOK_ENTRY,
        },
        "forward_env": forward,
        "submission_id_prefix": f"polaris-{recipe.name}",
    }
