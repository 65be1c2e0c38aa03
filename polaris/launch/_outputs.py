"""Where the driver writes its outputs (run_lock.json, reward state, relative checkpoint paths).

The driver runs inside Ray's copy of the bundle; `polaris run` passes it an absolute output
directory at launch time (the flag named by job.json `run_dir_arg`). On this machine (a local
head or a loopback address) that is the run directory. A remote cluster cannot reach it: outputs
then go to `<output.checkpoint_dir>/<run dir name>/`, and checkpoint_dir must be absolute.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

__all__ = ["is_local_address", "driver_run_dir", "remote_output_problems"]

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_local_address(address: str | None) -> bool:
    """True for no address (polaris starts a local head) and for loopback dashboard addresses."""
    if not address:
        return True
    host = urlsplit(address if "://" in address else f"http://{address}").hostname or ""
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def driver_run_dir(run_dir: Path, address: str | None, checkpoint_dir: str | None) -> Path | None:
    """The directory the driver writes to: the run dir on this machine, else `<checkpoint_dir>/<run name>`.

    None for a remote cluster without an absolute checkpoint_dir (`remote_output_problems` refuses that).
    """
    if is_local_address(address):
        return run_dir
    if checkpoint_dir and PurePosixPath(checkpoint_dir).is_absolute():
        return Path(checkpoint_dir) / run_dir.name
    return None


def remote_output_problems(loaded: Any, address: str | None) -> list[Any]:
    """Located problems for output paths a remote cluster would write into Ray's temporary copy."""
    if is_local_address(address):
        return []
    from polaris.resolve import problem_at

    r = loaded.recipe
    where = f"the Ray cluster at {address} is not on this machine"
    problems = []
    ckpt = r.output.checkpoint_dir
    if not ckpt or not PurePosixPath(ckpt).is_absolute():
        shown = "null means <run dir>/checkpoints" if not ckpt else f"a relative path ({ckpt!r}) is inside the run dir"
        problems.append(problem_at(
            loaded, "output.checkpoint_dir",
            f"{shown}, but {where}: the run dir here is not reachable from it, and checkpoints would be "
            "written into Ray's temporary copy of the job's working dir",
            "set output.checkpoint_dir to an absolute path on storage shared by the cluster's nodes (e.g. "
            "--set output.checkpoint_dir=/shared/polaris/ckpt); the driver also writes run_lock.json and the "
            "reward state under <checkpoint_dir>/<run dir name>/. For a cluster on this machine use "
            "--address http://127.0.0.1:8265",
        ))
    tb = r.logging.tensorboard_dir
    if tb and not PurePosixPath(tb).is_absolute():
        problems.append(problem_at(
            loaded, "logging.tensorboard_dir",
            f"a relative path ({tb!r}) is inside the run dir, but {where}: the logs would be written into Ray's "
            "temporary copy of the job's working dir",
            "use an absolute path on shared storage, or null",
        ))
    return problems
