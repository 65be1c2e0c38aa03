"""`polaris run`'s launcher: a local Ray head or an existing cluster, job submission, log following.

Ray is imported only inside functions. Public names:

* `launch(bundle_dir, *, address=None, follow=True, run_dir=..., ...) -> LaunchResult`
* `LaunchError` (exit code 4), `LaunchResult`, `LocalHead`, `count_gpus()`,
  `forward_env_values(job, environ)`, `equivalent_commands(bundle, address=..., num_gpus=...)`
* `is_local_address`, `driver_run_dir`, `remote_output_problems`: where the driver writes its outputs
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, TextIO

from . import _gpu

from ._commands import equivalent_commands
from ._errors import EXIT_LAUNCH, LaunchError, LaunchResult
from ._gpu import count_gpus
from ._head import LocalHead
from ._outputs import driver_run_dir, is_local_address, remote_output_problems
from ._submit import connect, follow as _follow, forward_env_values, read_job, stop_job, submit

__all__ = ["launch", "LaunchError", "LaunchResult", "LocalHead", "count_gpus", "forward_env_values",
           "equivalent_commands", "EXIT_LAUNCH", "is_local_address", "driver_run_dir", "remote_output_problems"]

_EXIT_BY_STATUS = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 130}


def _log(out: TextIO, msg: str) -> None:
    out.write(f"[polaris] {msg}\n")
    out.flush()


def launch(
    bundle_dir: str | Path,
    *,
    address: str | None,
    follow: bool = True,
    gpus_needed: int | None = None,
    nodes: int = 1,
    num_cpus: int | None = None,
    temp_dir: str | None = None,
    environ: dict[str, str] | None = None,
    out: TextIO | None = None,
    gpu_probe: Callable[[], int] | None = None,
    run_dir: str | Path | None = None,
) -> LaunchResult:
    """Submit the bundle's job to `address` (a Ray dashboard URL) or to a local head started here.

    Without an address this machine must have GPUs (at least `gpus_needed`); the head is started
    with all of them and stopped when the job ends or on Ctrl-C (which also stops the job). Secrets
    named in job.json `forward_env` are read from `environ` at submission and never written.
    `run_dir` is passed to the entrypoint through job.json `run_dir_arg` (the driver writes its
    outputs there); default: the bundle when Ray runs on this machine, nothing for a remote cluster.
    """
    bundle = Path(bundle_dir).resolve()
    out = out or sys.stdout
    env = dict(os.environ if environ is None else environ)
    job = read_job(bundle)
    if run_dir is None and is_local_address(address):
        run_dir = bundle
    gpus = 0
    problems: list[str] = []  # where Ray would run first, then missing keys: all before anything starts
    if address is None:
        if nodes > 1:
            problems.append(f"the recipe uses {nodes} nodes: start a Ray cluster (see docs/launch.md) and pass "
                            "--address http://HEAD:8265")
        else:
            gpus = (gpu_probe or _gpu.count_gpus)()
            if gpus == 0:
                problems.append("no GPU on this machine and no --address: run on a GPU node, or pass --address "
                                "http://HEAD:8265 to submit to a Ray cluster (--dry-run compiles without launching)")
            elif gpus_needed is not None and gpus < gpus_needed:
                problems.append(f"the recipe needs {gpus_needed} GPU(s) (cluster.gpus_per_node) but this machine "
                                f"has {gpus}; change cluster.gpus_per_node or pass --address")
    try:
        secrets = forward_env_values(job, env)
    except LaunchError as exc:
        problems.append(str(exc))
    if problems:
        raise LaunchError("\nalso: ".join(problems))
    head: LocalHead | None = None
    if address is None:
        head = LocalHead(num_gpus=gpus, num_cpus=num_cpus, temp_dir=temp_dir,
                         log_path=_head_log(bundle))
        _log(out, f"starting a local Ray head with {gpus} GPU(s) (log: {head.log_path})")
        head.start()
        address = head.dashboard_url
    try:
        client = connect(address)
        job_id = submit(client, bundle, job, secrets, run_dir=run_dir)
    except BaseException:
        if head is not None:
            head.stop()
        raise
    result = LaunchResult(job_id=job_id, dashboard_url=address, head_started=head is not None,
                          head_pid=head.proc.pid if head and head.proc else None)
    _log(out, f"submitted job {job_id} to {address}")
    if not follow:
        if head is not None:
            result.message = f"the local Ray head keeps running; stop it with: kill {result.head_pid}"
        return result
    try:
        status = _follow(client, job_id, out)
    except KeyboardInterrupt:
        _log(out, f"interrupted: stopping job {job_id}")
        status = stop_job(client, job_id) or "STOPPED"
        result.message = "stopped by Ctrl-C"
        result.exit_code = 130
    finally:
        if head is not None:
            _log(out, "stopping the local Ray head")
            head.stop()
    result.status = status
    if result.exit_code is None:
        result.exit_code = _EXIT_BY_STATUS.get(status, 1)
    _log(out, f"job {job_id} ended: {status}")
    return result


def _head_log(bundle: Path) -> Path:
    logs = bundle / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / "ray_head.log"
