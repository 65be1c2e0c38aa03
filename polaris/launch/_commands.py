"""The shell commands equivalent to what `polaris run` does (printed by --dry-run; never run)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from ._outputs import is_local_address
from ._submit import SUBMIT_EXCLUDES, entrypoint

__all__ = ["equivalent_commands"]


def equivalent_commands(bundle: Path, *, address: str | None, num_gpus: int,
                        run_dir: Path | None = None) -> dict[str, str]:
    """`ray start` (when no address), `ray job submit`, and the reward service command the driver runs.

    `run_dir` is where the driver writes its outputs (default as in `launch`: the bundle on this machine).
    Forwarded secrets appear as `<value of $NAME>` placeholders: values are never printed.
    """
    if run_dir is None and is_local_address(address):
        run_dir = bundle
    from polaris.engine.openrlhf._driver_service import reward_service_command

    job = json.loads((bundle / "job.json").read_text(encoding="utf-8"))
    runtime_env: dict[str, Any] = dict(job.get("runtime_env") or {})
    runtime_env["working_dir"] = str(bundle)
    runtime_env["excludes"] = sorted(set(runtime_env.get("excludes") or []) | set(SUBMIT_EXCLUDES))
    env_vars = dict(runtime_env.get("env_vars") or {})
    for item in job.get("forward_env") or []:
        name = item["name"] if isinstance(item, dict) else str(item)
        env_vars[name] = f"<value of ${name}>"
    runtime_env["env_vars"] = env_vars
    out: dict[str, str] = {}
    dashboard = address or "http://127.0.0.1:8265"
    if address is None:
        out["ray_start"] = shlex.join(["ray", "start", "--head", "--port", "6379", "--num-gpus", str(num_gpus),
                                       "--dashboard-host", "127.0.0.1", "--dashboard-port", "8265",
                                       "--disable-usage-stats"])
    out["job_submit"] = " ".join([
        "ray job submit", "--address", shlex.quote(dashboard), "--runtime-env-json",
        shlex.quote(json.dumps(runtime_env, separators=(",", ":"))), "--", entrypoint(job, run_dir, bundle),
    ])
    driver_path = bundle / "driver.json"
    if driver_path.is_file():
        svc = json.loads(driver_path.read_text(encoding="utf-8")).get("reward_service") or {}
        out["reward_service"] = shlex.join(reward_service_command(svc, Path("<job working dir>"), python="python",
                                                                  out_dir=run_dir))
    return out
