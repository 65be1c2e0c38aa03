"""Driver step 4: connect to Ray with the run's runtime env, then run OpenRLHF's `__main__`."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

__all__ = ["OPENRLHF_ENV_DEFAULTS", "UPLOAD_EXCLUDES", "in_ray_job", "build_runtime_env", "init_ray",
           "run_train_module"]

#: What OpenRLHF's train() would pass to its own ray.init; it skips that call once Ray is up.
OPENRLHF_ENV_DEFAULTS = {
    "TOKENIZERS_PARALLELISM": "true",
    "NCCL_DEBUG": "WARN",
    "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1",
}
#: Not needed by workers: prepared (unrendered) rows, the reward service's state, outputs.
UPLOAD_EXCLUDES = ["data/train.jsonl", "data/eval.jsonl", "state/", "checkpoints/", "logs/", "*.sqlite*"]
_JOB_CONFIG_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"


def in_ray_job(environ: dict[str, str] | None = None) -> bool:
    """True when this process is the entrypoint of a submitted Ray job."""
    return _JOB_CONFIG_ENV in (os.environ if environ is None else environ)


def build_runtime_env(
    bundle: Path,
    cfg: dict[str, Any],
    job: dict[str, Any],
    environ: dict[str, str],
    *,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The runtime env for every Ray worker of the run.

    The working dir is re-uploaded from the driver's copy so that the rendered prompt files reach
    every node (the trainer actor may be scheduled anywhere). Secrets named in job.json
    `forward_env` are copied from this process's environment (they arrived through the job's
    runtime env); nothing here is written to disk.
    """
    job_env = (job.get("runtime_env") or {}).get("env_vars") or {}
    env = {k: environ.get(k, v) for k, v in OPENRLHF_ENV_DEFAULTS.items()}
    env.update({k: str(v) for k, v in job_env.items()})
    env.update({k: str(v) for k, v in (cfg.get("env") or {}).items()})
    for name in _forward_names(job):
        if environ.get(name):
            env[name] = environ[name]
    env.update(extra_env or {})
    runtime_env: dict[str, Any] = {"working_dir": str(bundle), "excludes": list(UPLOAD_EXCLUDES), "env_vars": env}
    hook = cfg.get("worker_process_setup_hook") or (job.get("runtime_env") or {}).get("worker_process_setup_hook")
    if hook:
        runtime_env["worker_process_setup_hook"] = hook
    return runtime_env


def _forward_names(job: dict[str, Any]) -> list[str]:
    out = []
    for item in job.get("forward_env") or []:
        out.append(item["name"] if isinstance(item, dict) else str(item))
    return out


def init_ray(runtime_env: dict[str, Any], *, environ: dict[str, str] | None = None) -> str:
    """Connect to the running cluster (or start a local one); returns "cluster" or "local"."""
    import ray

    env = os.environ if environ is None else environ
    if in_ray_job(env):
        # The job already has a runtime env; ours extends it (rendered data in the working dir).
        env["RAY_OVERRIDE_JOB_RUNTIME_ENV"] = "1"
    try:
        ray.init(address="auto", runtime_env=runtime_env)
        return "cluster"
    except ConnectionError:
        if in_ray_job(env) or env.get("RAY_ADDRESS"):
            raise
    ray.init(runtime_env=runtime_env)
    return "local"


def run_train_module(module: str, argv: list[str]) -> int:
    """Run `module` as `__main__` with `argv` after the program name; returns its exit code.

    As with `python -m module`, runpy sets `sys.argv[0]` to the module's file.
    """
    saved = sys.argv
    sys.argv = [module.rsplit(".", 1)[-1]] + list(argv)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)  # sys.exit("message"): show it as Python would
        return 1
    finally:
        sys.argv = saved
    return 0
