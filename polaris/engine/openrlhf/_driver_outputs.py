"""Where the driver writes: its output dir (--run-dir) and the argv's output paths resolved against it.

Ray runs the driver and every worker inside temporary copies of the bundle, so a relative output
path in the argv would land in whichever copy the writing process runs in. The driver makes
them absolute under the run's output dir before training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._driver_data import DriverError

__all__ = ["OUTPUT_FLAGS", "prepare_out_dir", "resolve_output_argv"]

#: OpenRLHF flags whose values are paths the trainer writes to.
OUTPUT_FLAGS = ("--ckpt.path", "--ckpt.output_dir", "--logger.tensorboard_dir")


def prepare_out_dir(run_dir: Path | None, bundle: Path) -> Path:
    """The absolute output dir (`run_dir`, else the bundle), created."""
    out = (run_dir if run_dir is not None else bundle).expanduser()
    if not out.is_absolute():
        raise DriverError(f"--run-dir must be an absolute path (got {out})")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DriverError(f"cannot create the run's output directory {out} on this node: {exc}") from None
    return out.resolve()


def resolve_output_argv(argv: list[str], out_dir: Path) -> tuple[list[str], dict[str, Any]]:
    """`argv` with relative OUTPUT_FLAGS values made absolute under `out_dir`; and {flag: path} written."""
    out = list(argv)
    paths: dict[str, Any] = {}
    for i, arg in enumerate(out[:-1]):
        if arg in OUTPUT_FLAGS:
            value = Path(out[i + 1])
            if not value.is_absolute():
                out[i + 1] = str(out_dir / value)
            paths[arg] = out[i + 1]
    return out, paths
