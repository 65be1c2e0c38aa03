"""A local Ray head owned by this process: `ray start --head --block` as a child we can stop by pid.

`ray stop` would stop every Ray process on the machine (other users' clusters included), so a
head we started is stopped by signalling the `ray start --block` process, which shuts down the
processes it started (and its reaper does so even if it is killed hard).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ._errors import LaunchError

__all__ = ["LocalHead", "ray_executable", "free_port"]


def ray_executable() -> str:
    """The `ray` CLI of this Python environment (so the head runs the same Ray and polaris)."""
    here = Path(sys.executable).with_name("ray")
    if here.is_file():
        return str(here)
    from shutil import which

    found = which("ray")
    if not found:
        raise LaunchError("the `ray` command is not installed; install polaris with the `train` extra")
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int) -> int:
    """`preferred` when free, else (or when 0) any free port."""
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalHead:
    """Start and stop a single-node Ray head (GCS + dashboard) for one run."""

    def __init__(self, *, num_gpus: int, num_cpus: int | None = None, port: int = 6379, dashboard_port: int = 8265,
                 temp_dir: str | None = None, log_path: Path | None = None) -> None:
        self.num_gpus, self.num_cpus, self.temp_dir = num_gpus, num_cpus, temp_dir
        self.port, self.dashboard_port = free_port(port), free_port(dashboard_port)
        # Ray's other fixed default ports; a second head on the machine (or a leftover) would collide.
        self.agent_port, self.client_port = free_port(52365), free_port(10001)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def command(self, *, block: bool = True) -> list[str]:
        cmd = [ray_executable(), "start", "--head", "--port", str(self.port), "--num-gpus", str(self.num_gpus),
               "--dashboard-host", "127.0.0.1", "--dashboard-port", str(self.dashboard_port),
               "--dashboard-agent-listen-port", str(self.agent_port),
               "--ray-client-server-port", str(self.client_port), "--disable-usage-stats"]
        if self.num_cpus is not None:
            cmd += ["--num-cpus", str(self.num_cpus)]
        if self.temp_dir:
            cmd += ["--temp-dir", self.temp_dir]
        return cmd + (["--block"] if block else [])

    def start(self, timeout_s: float = 120.0) -> None:
        env = dict(os.environ)
        # The job's `python` must be this environment's Python (polaris and openrlhf installed).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            # A session of its own: Ctrl-C in the terminal must not kill the head before the job is stopped.
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        except OSError as exc:
            raise LaunchError(f"cannot start a local Ray head: {exc}") from None
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        try:
            self._wait_ready(timeout_s)
        except BaseException:  # Ctrl-C while waiting too: the head runs in its own session, nothing else stops it
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                where = f"; see {self.log_path}" if self.log_path else ""
                raise LaunchError(f"the local Ray head exited with code {self.proc.returncode} while starting{where}")
            try:
                with urllib.request.urlopen(self.dashboard_url + "/api/version", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise LaunchError(f"the local Ray head did not answer on {self.dashboard_url} within {timeout_s:.0f} s")

    def stop(self, grace_s: float = 60.0) -> None:
        """Stop the head we started (by its pid); safe to call twice."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
