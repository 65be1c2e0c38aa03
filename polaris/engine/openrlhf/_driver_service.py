"""Driver step 3: the reward service as a child process of the driver, up before training, down after."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ._driver_data import DriverError

__all__ = ["RewardService", "reward_service_command", "ensure_token", "state_dir"]

DEFAULT_COMMAND = [
    "{python}", "-m", "polaris.cli.main", "serve-reward", "{bundle}",
    "--port", "{port}", "--state-dir", "{state_dir}", "--host", "{bind}",
]


def state_dir(svc: dict[str, Any], out_dir: Path) -> Path:
    """driver.json `reward_service.state_dir`, a relative one resolved against the run's output dir."""
    path = Path(svc.get("state_dir", "state/reward"))
    return path if path.is_absolute() else out_dir / path


def reward_service_command(svc: dict[str, Any], bundle: Path, python: str = sys.executable,
                           out_dir: Path | None = None) -> list[str]:
    """The service argv: driver.json `reward_service.command` (placeholders {python} {bundle} {port}
    {state_dir} {bind}) or the default `polaris serve-reward` command. A relative state dir is
    resolved against `out_dir` (the driver's --run-dir; default the bundle)."""
    template = svc.get("command") or DEFAULT_COMMAND
    if not isinstance(template, list) or not all(isinstance(x, str) for x in template):
        raise DriverError("driver.json: reward_service.command must be a list of strings")
    values = {
        "python": python,
        "bundle": str(bundle),
        "port": str(svc.get("port", 8731)),
        "state_dir": str(state_dir(svc, bundle if out_dir is None else out_dir)),
        "bind": svc.get("bind", "127.0.0.1"),
    }
    try:
        argv = [part.format(**values) for part in template]
    except (KeyError, IndexError) as exc:
        raise DriverError(f"driver.json: reward_service.command has an unknown placeholder {exc}") from None
    if not svc.get("command") and svc.get("token_env"):
        argv += ["--token-env", svc["token_env"]]
    return argv


def ensure_token(svc: dict[str, Any], environ: dict[str, str]) -> str | None:
    """When the service needs a bearer token and none is set, make one for this run (memory only)."""
    name = svc.get("token_env")
    if not name:
        return None
    if not environ.get(name):
        environ[name] = secrets.token_urlsafe(32)
    return environ[name]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class RewardService:
    """Start, health-check and stop the reward service process (a child of the driver)."""

    def __init__(self, argv: list[str], port: int, *, cwd: Path, env: dict[str, str] | None = None,
                 startup_timeout_s: float = 180.0) -> None:
        self.argv, self.port, self.cwd, self.env = argv, port, cwd, env
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Another process answering /healthz on our port would pass for ours: refuse a busy port.
        if not _port_free("127.0.0.1", self.port):
            raise DriverError(
                f"port {self.port} is already in use on the head node; stop whatever listens there or set "
                "cluster.reward_service_port to a free port"
            )
        try:
            # Same process group as the driver: `ray job stop` signals the group, reaching the service too.
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env)
        except OSError as exc:
            raise DriverError(f"cannot start the reward service ({self.argv[0]}): {exc}") from None

    def wait_healthy(self) -> None:
        assert self.proc is not None, "start() first"
        deadline = time.monotonic() + self.startup_timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise DriverError(f"the reward service exited with code {code} before it was healthy; see its log above")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(0.2)
        raise DriverError(
            f"the reward service did not become healthy on {self.url}/healthz within "
            f"{self.startup_timeout_s:.0f} s (last: {last})"
        )

    def stop(self, grace_s: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace_s`; returns the exit code (None when never started)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:  # pragma: no cover - exited between poll and signal
                pass
        return proc.returncode


def service_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The service's environment: the driver's own (judge keys arrive through the job's env)."""
    return dict(os.environ if base is None else base)
