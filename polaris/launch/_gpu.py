"""How many GPUs this machine has (nvidia-smi first; torch only when nvidia-smi is missing)."""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["count_gpus"]


def count_gpus() -> int:
    """Number of visible NVIDIA GPUs; 0 when none can be found."""
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None and out.returncode == 0:
            return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))
    try:
        import torch  # heavy; only reached without nvidia-smi
    except ImportError:
        return 0
    try:
        return int(torch.cuda.device_count())
    except Exception:  # noqa: BLE001 - a broken CUDA install counts as no GPU
        return 0
