"""Where the driver writes: this machine vs a remote cluster, and the run dir passed at launch time."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from polaris.launch import driver_run_dir, is_local_address, launch, remote_output_problems
from polaris.launch._submit import entrypoint
from polaris.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "recipes" / "demo.yaml")
POLARIS9B = str(ROOT / "recipes" / "polaris9b.yaml")


@pytest.mark.parametrize("address,local", [
    (None, True), ("http://127.0.0.1:8265", True), ("localhost:8265", True), ("http://[::1]:8265", True),
    ("http://127.3.0.1:8265", True), ("http://head:8265", False), ("10.0.0.5:8265", False),
    ("http://localhost.example.com:8265", False),
])
def test_is_local_address(address: str | None, local: bool) -> None:
    assert is_local_address(address) is local


def test_driver_run_dir_local_remote() -> None:
    run = Path("/home/me/runs/demo-12345678-20260101T000000Z")
    assert driver_run_dir(run, None, None) == run
    assert driver_run_dir(run, "http://127.0.0.1:8265", "ckpt") == run
    assert driver_run_dir(run, "http://head:8265", "/shared/ckpt") == Path("/shared/ckpt") / run.name
    assert driver_run_dir(run, "http://head:8265", "ckpt") is None
    assert driver_run_dir(run, "http://head:8265", None) is None


def test_remote_cluster_needs_absolute_output_paths() -> None:
    loaded = load_recipe(POLARIS9B, ["logging.tensorboard_dir=tb"])
    problems = remote_output_problems(loaded, "http://head:8265")
    assert [p.path for p in problems] == ["output.checkpoint_dir", "logging.tensorboard_dir"]
    ckpt = problems[0]
    # located at the recipe's output section (the key itself is not set), with the fix in the hint
    lines = Path(POLARIS9B).read_text().splitlines()
    assert ckpt.file == POLARIS9B and lines[ckpt.line - 2] == "output:"
    assert ckpt.message.startswith("null means <run dir>/checkpoints, but the Ray cluster at http://head:8265 is "
                                   "not on this machine")
    assert "absolute path on storage shared" in ckpt.hint and "<checkpoint_dir>/<run dir name>/" in ckpt.hint
    assert problems[1].file == "<--set>"
    assert remote_output_problems(loaded, "http://127.0.0.1:8265") == []
    fixed = load_recipe(POLARIS9B, ["output.checkpoint_dir=/shared/ckpt"])
    assert remote_output_problems(fixed, "http://head:8265") == []
    relative = load_recipe(POLARIS9B, ["output.checkpoint_dir=ckpt"])
    (p,) = remote_output_problems(relative, "http://head:8265")
    assert "a relative path ('ckpt') is inside the run dir" in p.message and p.file == "<--set>"


def test_entrypoint_gets_the_run_dir_only_when_the_job_takes_it() -> None:
    job = {"entrypoint": "python -m polaris.engine.openrlhf.driver --bundle .", "run_dir_arg": "--run-dir"}
    assert entrypoint(job, Path("/r/a b")) == "python -m polaris.engine.openrlhf.driver --bundle . --run-dir '/r/a b'"
    assert entrypoint(job, None) == job["entrypoint"]
    assert entrypoint({"entrypoint": "python x.py"}, Path("/r")) == "python x.py"


def test_entrypoint_asks_the_driver_to_check_a_run_dir_that_holds_the_bundle(tmp_path: Path) -> None:
    job = {"entrypoint": "drive", "run_dir_arg": "--run-dir", "run_dir_holds_bundle_arg": "--run-dir-holds-bundle"}
    assert entrypoint(job, tmp_path, tmp_path) == f"drive --run-dir {tmp_path} --run-dir-holds-bundle"
    assert entrypoint(job, Path("/shared/ckpt/run"), tmp_path) == "drive --run-dir /shared/ckpt/run"


class _Client:
    def __init__(self) -> None:
        self.entrypoints: list[str] = []

    def submit_job(self, *, entrypoint: str, **_: Any) -> str:
        self.entrypoints.append(entrypoint)
        return "polaris-x"


@pytest.mark.parametrize("address,given,expected", [
    ("http://127.0.0.1:8265", None, "BUNDLE"),       # a cluster on this machine: the run dir itself
    ("http://head:8265", None, None),                # remote, nothing given: not passed (the driver warns)
    ("http://head:8265", "/shared/ckpt/run", "/shared/ckpt/run"),
])
def test_launch_passes_the_run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str,
                                   given: str | None, expected: str | None) -> None:
    import polaris.launch as launch_mod

    (tmp_path / "job.json").write_text(json.dumps({"entrypoint": "drive", "run_dir_arg": "--run-dir",
                                                   "run_dir_holds_bundle_arg": "--check"}))
    client = _Client()
    monkeypatch.setattr(launch_mod, "connect", lambda _: client)
    result = launch(tmp_path, address=address, follow=False, environ={}, out=io.StringIO(), run_dir=given)
    assert result.job_id == "polaris-x"
    want = str(tmp_path.resolve()) if expected == "BUNDLE" else expected
    check = " --check" if expected == "BUNDLE" else ""
    assert client.entrypoints == ([f"drive --run-dir {want}{check}"] if want else ["drive"])
