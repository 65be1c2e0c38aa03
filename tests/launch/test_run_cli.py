"""`polaris run`: dry run on a CPU machine, confirmation rules, the no-GPU error (exit code 4)."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

from polaris.cli.main import main
from polaris.launch import LaunchError, equivalent_commands, forward_env_values, launch

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "recipes" / "demo.yaml")
POLARIS9B = str(ROOT / "recipes" / "polaris9b.yaml")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # run dirs go under ./runs


def test_dry_run_prints_commands_and_writes_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", DEMO, "--dry-run"]) == 0
    out = capsys.readouterr().out
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "job.json").is_file() and (run_dir / "driver.json").is_file()
    # runs/<name>-<hash8>-<timestamp>/: the hash is the recipe's (lock.json), the time UTC
    lock = json.loads((run_dir / "lock.json").read_text())
    name, hash8, stamp = run_dir.name.split("-")
    assert name == "demo" and hash8 == lock["recipe_sha256"][:8]
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp)
    assert "ray start --head --port 6379 --num-gpus 1" in out
    assert f'ray job submit --address http://127.0.0.1:8265 --runtime-env-json \'{{"working_dir":"{run_dir}"' in out
    # the driver is told the run dir (it runs in Ray's copy of it) and writes its state there
    assert f"-- python -m polaris.engine.openrlhf.driver --bundle . --run-dir {run_dir} --run-dir-holds-bundle\n" in out
    assert "serve-reward" in out and "--port 8731" in out and f"--state-dir {run_dir}/state/reward" in out
    assert json.loads((run_dir / "job.json").read_text())["entrypoint"].endswith("--bundle .")  # not in the bundle
    assert "Qwen/Qwen3-0.6B" in out and "reference injection  on" in out


def test_dry_run_json_with_address_and_secret_placeholders(capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "real-secret-value-123")
    assert main(["run", POLARIS9B, "--dry-run", "--json", "--address", "http://head:8265",
                 "--set", "output.checkpoint_dir=/shared/ckpt"]) == 0
    info = json.loads(capsys.readouterr().out)
    cmds = info["commands"]
    assert "ray_start" not in cmds and "--address http://head:8265" in cmds["job_submit"]
    # a remote cluster cannot reach the run dir here: the driver writes under the shared checkpoint dir
    remote = f"/shared/ckpt/{Path(info['run_dir']).name}"
    assert info["driver_run_dir"] == remote and cmds["job_submit"].endswith(f"--bundle . --run-dir {remote}")
    assert f"--state-dir {remote}/state/reward" in cmds["reward_service"]
    assert "<value of $GEMINI_API_KEY>" in cmds["job_submit"]
    assert "real-secret-value-123" not in json.dumps(info)
    assert info["summary"]["reference_injection"] is True and info["recipe_sha256"]


def test_no_gpu_and_no_address_fails_with_exit_4(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import polaris.launch._gpu as gpu

    monkeypatch.setattr(gpu, "count_gpus", lambda: 0)
    assert main(["run", DEMO, "--yes"]) == 4
    err = capsys.readouterr().err
    assert "error: no GPU on this machine and no --address" in err and "Traceback" not in err


def test_remote_cluster_with_run_dir_checkpoints_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", DEMO, "--dry-run", "--json", "--address", "http://head:8265"]) == 3
    (problem,) = json.loads(capsys.readouterr().out)
    assert problem["path"] == "output.checkpoint_dir" and problem["file"] == DEMO
    assert "not on this machine" in problem["message"] and "--set output.checkpoint_dir=" in problem["hint"]
    assert not (tmp_path / "runs").exists()  # refused before a run dir is written
    # a cluster on this machine can write into the run dir; with several nodes polaris says it must be shared
    assert main(["run", DEMO, "--dry-run", "--address", "http://127.0.0.1:8265"]) == 0
    assert "note: checkpoints go to" not in capsys.readouterr().err
    assert main(["run", POLARIS9B, "--dry-run", "--address", "http://127.0.0.1:8265", "--set", "cluster.nodes=2",
                 "--set", "cluster.gpus_per_node=8"]) == 0
    assert "/checkpoints: with 2 nodes that must be shared storage" in capsys.readouterr().err


def test_no_gpu_is_reported_before_a_missing_key(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import polaris.launch._gpu as gpu

    monkeypatch.setattr(gpu, "count_gpus", lambda: 0)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    assert main(["run", POLARIS9B, "--yes"]) == 4
    err = capsys.readouterr().err
    assert err.index("error: no GPU on this machine and no --address") < err.index("GEMINI_API_KEY are not set")
    assert "\nalso: environment variable(s) GEMINI_API_KEY" in err


def test_refuses_to_prompt_without_a_terminal(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["run", DEMO]) == 2
    assert "pass --yes" in capsys.readouterr().err


def test_invalid_recipe_exit_3(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", DEMO, "--dry-run", "--set", "grpo.samples_per_prompt=0"]) == 3


def _job(tmp_path: Path, forward: list) -> Path:
    (tmp_path / "job.json").write_text(json.dumps({"entrypoint": "python x.py", "runtime_env": {"env_vars": {}},
                                                   "forward_env": forward}))
    return tmp_path


def test_forward_env_values_required_and_optional() -> None:
    job = {"forward_env": ["A_KEY", {"name": "B_KEY", "required": False}]}
    assert forward_env_values(job, {"A_KEY": "1", "B_KEY": "2"}) == {"A_KEY": "1", "B_KEY": "2"}
    assert forward_env_values(job, {"A_KEY": "1"}) == {"A_KEY": "1"}
    with pytest.raises(LaunchError, match="A_KEY are not set"):
        forward_env_values(job, {"B_KEY": "2"})


def test_launch_checks_before_starting_anything(tmp_path: Path) -> None:
    bundle = _job(tmp_path, ["NEEDED_KEY"])
    with pytest.raises(LaunchError, match="NEEDED_KEY"):
        launch(bundle, address=None, environ={}, gpu_probe=lambda: 8)
    bundle = _job(tmp_path, [])
    with pytest.raises(LaunchError, match="uses 2 nodes"):
        launch(bundle, address=None, environ={}, nodes=2, gpu_probe=lambda: 8)
    with pytest.raises(LaunchError, match="needs 4 GPU"):
        launch(bundle, address=None, environ={}, gpus_needed=4, gpu_probe=lambda: 2)
    with pytest.raises(LaunchError, match="missing; is"):
        launch(tmp_path / "nope", address="http://127.0.0.1:1")


def test_unreachable_address_is_a_launch_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LaunchError, match=f"cannot reach the Ray dashboard at http://127.0.0.1:{port}"):
        launch(_job(tmp_path, []), address=f"127.0.0.1:{port}", environ={})


def test_equivalent_commands_never_hold_values(tmp_path: Path) -> None:
    bundle = _job(tmp_path, ["SECRET_NAME_X"])
    cmds = equivalent_commands(bundle, address=None, num_gpus=4)
    assert "--num-gpus 4" in cmds["ray_start"] and "<value of $SECRET_NAME_X>" in cmds["job_submit"]
    assert os.environ.get("SECRET_NAME_X") is None or os.environ["SECRET_NAME_X"] not in cmds["job_submit"]
