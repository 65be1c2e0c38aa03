"""The HRI hook really runs in Ray worker processes through runtime_env's worker_process_setup_hook."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("ray")

PROBE = textwrap.dedent(
    """
    import json, os, sys
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"worker_process_setup_hook": "polaris.hri.hook.install",
                          "env_vars": {"POLARIS_HOOK_CONFIG": sys.argv[1]}})

    @ray.remote
    def probe():
        import os, sys
        # importing OpenRLHF's experience maker must now give the patched class
        return {"installed": os.environ.get("POLARIS_HRI_HOOK_INSTALLED"), "pid": os.getpid()}

    out = ray.get([probe.remote() for _ in range(2)])
    ray.shutdown()
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_worker_process_setup_hook_installs_polaris_hook(tmp_path):
    cfg = tmp_path / "polaris_hook.json"
    cfg.write_text(json.dumps({"openrlhf_version": "0.11.2", "hri_enabled": True, "exclude_reference_from_stats": True,
                               "weight": {"peak": 0.4, "warmup_steps": 15}, "reward": {},
                               "abort_failed_fraction": 0.5}))
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    proc = subprocess.run([sys.executable, str(script), str(cfg)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r["installed"] for r in results] == ["1", "1"]


@pytest.mark.slow
def test_worker_setup_hook_failure_is_loud(tmp_path):
    """A wrong OpenRLHF target version makes the hook refuse: the Ray task fails instead of training unhooked."""
    cfg = tmp_path / "polaris_hook.json"
    cfg.write_text(json.dumps({"openrlhf_version": "0.10.0", "hri_enabled": True, "reward": {},
                               "abort_failed_fraction": 0.5}))
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    proc = subprocess.run([sys.executable, str(script), str(cfg)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert "WorkerCrashedError" in proc.stderr or "setup_hook" in proc.stderr, proc.stderr[-2000:]
