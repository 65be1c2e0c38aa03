"""Submitting a bundle as a Ray job and following it (Ray imported inside the functions)."""

from __future__ import annotations

import asyncio
import json
import shlex
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from ._errors import LaunchError

__all__ = ["read_job", "forward_env_values", "submission_runtime_env", "entrypoint", "connect", "submit", "follow",
           "stop_job", "SUBMIT_EXCLUDES"]

#: Never uploaded with the bundle: the head's own log, reward-service state, outputs.
SUBMIT_EXCLUDES = ["logs/", "state/", "checkpoints/"]


def read_job(bundle: Path) -> dict[str, Any]:
    path = bundle / "job.json"
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LaunchError(f"{path}: missing; is {bundle} a bundle written by `polaris compile`?") from None
    except json.JSONDecodeError as exc:
        raise LaunchError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(job.get("entrypoint"), str):
        raise LaunchError(f"{path}: no 'entrypoint' string")
    return job


def _forward_specs(job: dict[str, Any]) -> list[tuple[str, bool]]:
    out = []
    for item in job.get("forward_env") or []:
        if isinstance(item, dict):
            out.append((str(item["name"]), bool(item.get("required", True))))
        else:
            out.append((str(item), True))
    return out


def forward_env_values(job: dict[str, Any], environ: dict[str, str]) -> dict[str, str]:
    """Values of job.json `forward_env` names from `environ` (memory only); a missing required one is an error."""
    values: dict[str, str] = {}
    missing = []
    for name, required in _forward_specs(job):
        value = environ.get(name)
        if value:
            values[name] = value
        elif required:
            missing.append(name)
    if missing:
        raise LaunchError(
            "environment variable(s) " + ", ".join(missing) + " are not set on this machine; the run forwards them "
            "by name to the cluster (e.g. export " + missing[0] + "=...), their values are never written to disk"
        )
    return values


def submission_runtime_env(bundle: Path, job: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """job.json's runtime_env with the bundle as working dir and the forwarded values filled in."""
    runtime_env = dict(job.get("runtime_env") or {})
    runtime_env["working_dir"] = str(bundle)
    runtime_env["excludes"] = sorted(set(runtime_env.get("excludes") or []) | set(SUBMIT_EXCLUDES))
    env_vars = {k: str(v) for k, v in (runtime_env.get("env_vars") or {}).items()}
    env_vars.update(secrets)
    runtime_env["env_vars"] = env_vars
    return runtime_env


def entrypoint(job: dict[str, Any], run_dir: str | Path | None, bundle: Path | None = None) -> str:
    """job.json's entrypoint, plus `<run_dir_arg> <run_dir>` when both are given (chosen at launch time),
    plus job.json's `run_dir_holds_bundle_arg` when `run_dir` is the `bundle` itself (Ray on this
    machine: the driver then checks that it really sees it)."""
    flag = job.get("run_dir_arg")
    if run_dir is None or not flag:
        return str(job["entrypoint"])
    cmd = f"{job['entrypoint']} {shlex.quote(str(flag))} {shlex.quote(str(run_dir))}"
    check = job.get("run_dir_holds_bundle_arg")
    if check and bundle is not None and Path(run_dir).resolve() == Path(bundle).resolve():
        cmd += f" {shlex.quote(str(check))}"
    return cmd


def connect(address: str) -> Any:
    """A `JobSubmissionClient` for a dashboard address (http://HEAD:8265)."""
    from ray.job_submission import JobSubmissionClient

    url = address if "://" in address else f"http://{address}"
    try:
        return JobSubmissionClient(url)
    except Exception as exc:  # noqa: BLE001 - ConnectionError, bad scheme, version mismatch
        raise LaunchError(
            f"cannot reach the Ray dashboard at {url}: {exc}. Give the dashboard address of the head "
            "(e.g. --address http://HEAD:8265; port 8265, not the GCS port 6379)"
        ) from None


def submit(client: Any, bundle: Path, job: dict[str, Any], secrets: dict[str, str], *,
           run_dir: str | Path | None = None, retry_s: float = 60.0) -> str:
    """Submit the bundle's entrypoint (told `run_dir`, see `entrypoint`); returns the Ray submission id."""
    prefix = job.get("submission_id_prefix") or "polaris"
    submission_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    runtime_env = submission_runtime_env(bundle, job, secrets)
    deadline = time.monotonic() + retry_s
    while True:
        try:
            return client.submit_job(entrypoint=entrypoint(job, run_dir, bundle), runtime_env=runtime_env,
                                     submission_id=submission_id, metadata={"polaris_bundle": bundle.name})
        except Exception as exc:  # noqa: BLE001 - the job agent of a fresh head needs a few seconds
            text = str(exc)
            # Never echo the runtime env: it holds the forwarded values.
            if "agent" in text.lower() and time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            raise LaunchError(f"the Ray cluster refused the job: {text.splitlines()[0] if text else type(exc).__name__}") from None


async def _tail(client: Any, job_id: str, out: TextIO) -> None:
    async for chunk in client.tail_job_logs(job_id):
        out.write(chunk)
        out.flush()


def follow(client: Any, job_id: str, out: TextIO, *, poll_s: float = 1.0) -> str:
    """Stream the job's logs to `out` until it ends; returns the final JobStatus name."""
    try:
        asyncio.run(_tail(client, job_id, out))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a dropped log stream must not hide the job's status
        out.write(f"[polaris] log stream ended early ({exc}); waiting for the job status\n")
    while True:
        status = client.get_job_status(job_id)
        if status.is_terminal():
            return str(status.value if hasattr(status, "value") else status)
        time.sleep(poll_s)


def stop_job(client: Any, job_id: str, *, wait_s: float = 60.0) -> str | None:
    """Ask Ray to stop the job and wait for it to end; returns the final status name (None if unknown)."""
    try:
        client.stop_job(job_id)
    except Exception:  # noqa: BLE001 - already finished
        pass
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            status = client.get_job_status(job_id)
        except Exception:  # noqa: BLE001
            return None
        if status.is_terminal():
            return str(status.value)
        time.sleep(1.0)
    return None
