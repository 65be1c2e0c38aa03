"""The ``logging`` and ``output`` sections: experiment tracking, run directory, checkpoints."""

from __future__ import annotations

from pydantic import Field

from ._base import Section

__all__ = ["LoggingConfig", "WandbConfig", "OutputConfig"]


class WandbConfig(Section):
    """Weights & Biases. The key is read only from the WANDB_API_KEY environment variable."""

    project: str = Field(description="W&B project.")
    entity: str | None = Field(default=None, description="W&B entity (team or user).")
    group: str | None = Field(default=None, description="W&B run group.")
    run_name: str | None = Field(default=None, description="Run name; null = the polaris run directory name.")


class LoggingConfig(Section):
    """Metrics logging."""

    wandb: WandbConfig | None = Field(default=None, description="Log to W&B (key from WANDB_API_KEY only).")
    tensorboard_dir: str | None = Field(
        default=None, description="TensorBoard log dir; relative paths are inside the run directory."
    )
    logging_steps: int = Field(default=1, ge=1, description="Log every N steps.")


class OutputConfig(Section):
    """Where a run writes its files."""

    run_root: str = Field(default="runs", description="Folder under which each run gets runs/<name>-<hash8>-<time>/.")
    checkpoint_dir: str | None = Field(
        default=None,
        description="Checkpoint folder; relative paths are inside the run directory. null = <run dir>/checkpoints. "
        "An absolute path gets a folder per run (<checkpoint_dir>/<run dir name>/). "
        "Must be absolute shared storage on multi-node clusters and with a Ray cluster on another machine.",
    )
    checkpoint_every_steps: int = Field(default=20, ge=1, description="Save a checkpoint every N steps.")
    save_hf: bool = Field(default=True, description="Also save Hugging Face weights at each checkpoint.")
    max_checkpoints: int = Field(default=3, ge=1, description="Keep at most this many checkpoints.")
