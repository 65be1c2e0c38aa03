"""LocalHead: what it owns is stopped even when start-up is interrupted (no Ray needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from polaris.launch import LocalHead


def test_interrupt_while_the_head_starts_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the head runs in a session of its own, so the terminal's Ctrl-C never reaches it: start() must stop it
    head = LocalHead(num_gpus=0, num_cpus=1, log_path=tmp_path / "head.log")
    monkeypatch.setattr(head, "command", lambda **_: [sys.executable, "-c", "import time; time.sleep(120)"])

    def interrupted(timeout_s: float) -> None:
        assert head.proc is not None and head.proc.poll() is None  # started and running
        raise KeyboardInterrupt

    monkeypatch.setattr(head, "_wait_ready", interrupted)
    with pytest.raises(KeyboardInterrupt):
        head.start()
    assert head.proc is not None and head.proc.poll() is not None  # stopped, not orphaned
