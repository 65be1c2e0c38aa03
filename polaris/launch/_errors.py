"""Launch errors and results."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LaunchError", "LaunchResult", "EXIT_LAUNCH"]

EXIT_LAUNCH = 4


class LaunchError(RuntimeError):
    """Launching failed before or while submitting (exit code 4); the message says what to do."""

    exit_code = EXIT_LAUNCH


@dataclass
class LaunchResult:
    """What happened to a submitted run."""

    job_id: str
    dashboard_url: str
    status: str | None = None  # Ray JobStatus name; None when not followed
    exit_code: int | None = None  # 0 succeeded, 1 failed, 130 stopped by Ctrl-C; None when not followed
    head_started: bool = False
    head_pid: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)
