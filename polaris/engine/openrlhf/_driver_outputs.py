"""Where the driver writes: its output dir (--run-dir) and the argv's output paths resolved against it.

Ray runs the driver and every worker inside temporary copies of the bundle, so a relative output
path in the argv would land in whichever copy the writing process runs in. The driver makes
them absolute under the run's output dir before training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._driver_data import DriverError

__all__ = ["OUTPUT_FLAGS", "prepare_out_dir", "resolve_output_argv", "wandb_dir"]

#: OpenRLHF flags whose values are paths the trainer writes to.
OUTPUT_FLAGS = ("--ckpt.path", "--ckpt.output_dir", "--logger.tensorboard_dir")
#: Of those, the ones that get a directory per run when absolute: OpenRLHF deletes the oldest
#: checkpoints it finds there (--ckpt.max_num), which would be another run's.
PER_RUN_FLAGS = ("--ckpt.path", "--ckpt.output_dir")


def prepare_out_dir(run_dir: Path | None, bundle: Path, *, holds_bundle: bool = False) -> Path:
    """The absolute output dir (`run_dir`, else the bundle), created.

    ``holds_bundle``: `polaris run` wrote this bundle into `run_dir` on the submitting machine and
    expects the driver to see it there; it must hold an identical lock.json (else the address that
    looked local leads to another machine, e.g. through a tunnel).
    """
    out = (run_dir if run_dir is not None else bundle).expanduser()
    if not out.is_absolute():
        raise DriverError(f"--run-dir must be an absolute path (got {out})")
    if holds_bundle and run_dir is not None:
        mine, theirs = bundle / "lock.json", out / "lock.json"
        if not (theirs.is_file() and mine.is_file() and theirs.read_bytes() == mine.read_bytes()):
            import socket

            raise DriverError(
                f"the run directory {out} that `polaris run` wrote is not visible on this node "
                f"({socket.gethostname()}): the Ray address looked local, but the job runs on another machine "
                "(a tunnel such as `ray dashboard` or `ssh -L`?). Submit with the cluster's own address "
                "(--address http://HEAD:8265) and set output.checkpoint_dir to storage shared by its nodes")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DriverError(f"cannot create the run's output directory {out} on this node: {exc}") from None
    return out.resolve()


def resolve_output_argv(argv: list[str], out_dir: Path,
                        run_name: str | None = None) -> tuple[list[str], dict[str, Any]]:
    """`argv` with relative OUTPUT_FLAGS values made absolute under `out_dir`, and absolute
    PER_RUN_FLAGS values `<dir>/<leaf>` moved to `<dir>/<run_name>/<leaf>`; and {flag: path} written."""
    out = list(argv)
    paths: dict[str, Any] = {}
    for i, arg in enumerate(out[:-1]):
        if arg in OUTPUT_FLAGS:
            value = Path(out[i + 1])
            if not value.is_absolute():
                out[i + 1] = str(out_dir / value)
            elif run_name and arg in PER_RUN_FLAGS:
                out[i + 1] = str(value.parent / run_name / value.name)
            paths[arg] = out[i + 1]
    return out, paths


def wandb_dir(argv: list[str], out_dir: Path, environ: dict[str, str]) -> str | None:
    """Where W&B writes its local files (``WANDB_DIR``, given to every worker): the run's output dir
    when the run logs to W&B and the user has not set ``WANDB_DIR``; else None. Without it W&B
    writes ``./wandb`` into the trainer's temporary copy of the working dir."""
    if "--logger.wandb.key" not in argv or environ.get("WANDB_DIR"):
        return None
    return str(out_dir)
