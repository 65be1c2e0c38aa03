"""The driver's outputs go to --run-dir, not to the bundle copy it runs in (no Ray here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_driver_kit import free_port, install_recorder, make_bundle, make_tokenizer, row_spec, write_jsonl  # noqa: E402

from polaris.engine.openrlhf import driver  # noqa: E402
from polaris.engine.openrlhf._driver_outputs import resolve_output_argv, wandb_dir  # noqa: E402

ROW = {"id": "a", "messages": [{"role": "user", "content": "write a story about the sea"}],
       "label": {"id": "a", "target_words": 800, "split": "train", "judge_prompt": "the sea",
                 "reference": "the sea", "reasoning": None}}
ARGV = ["--data.prompt_dataset", "data/train.rendered.jsonl", "--ckpt.path", "checkpoints/ds",
        "--ckpt.output_dir", "/abs/hf", "--logger.tensorboard_dir", "tb", "--ckpt.save_steps", "5"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tokenizer(tmp_path_factory.mktemp("tok"))


def _bundle(tmp_path: Path, tokenizer: Path, port: int = 0) -> Path:
    root = tmp_path / "ray-copy"
    write_jsonl(root / "data" / "train.jsonl", [ROW])
    bundle = make_bundle(root, tokenizer, sources={"train": {"prepared": "data/train.jsonl"}}, spec=row_spec(),
                         port=port, argv=ARGV)
    cfg = json.loads((bundle / "driver.json").read_text())
    cfg["reward_service"]["command"].append("{state_dir}")
    (bundle / "driver.json").write_text(json.dumps(cfg))
    return bundle


def test_resolve_output_argv_only_touches_relative_output_paths(tmp_path: Path) -> None:
    argv, paths = resolve_output_argv(ARGV, tmp_path)
    assert argv[argv.index("--ckpt.path") + 1] == str(tmp_path / "checkpoints/ds")
    assert argv[argv.index("--ckpt.output_dir") + 1] == "/abs/hf"
    assert argv[argv.index("--logger.tensorboard_dir") + 1] == str(tmp_path / "tb")
    assert argv[1] == "data/train.rendered.jsonl"  # inputs stay relative to the working dir
    assert paths == {"--ckpt.path": str(tmp_path / "checkpoints/ds"), "--ckpt.output_dir": "/abs/hf",
                     "--logger.tensorboard_dir": str(tmp_path / "tb")}


def test_absolute_checkpoint_dirs_get_a_directory_per_run(tmp_path: Path) -> None:
    """Two runs with the same absolute output.checkpoint_dir never share (and prune) a checkpoint dir."""
    argv = ["--ckpt.path", "/shared/ckpt/ds", "--ckpt.output_dir", "/shared/ckpt/hf", "--logger.tensorboard_dir", "/tb"]
    a, _ = resolve_output_argv(argv, tmp_path, "demo-1111aaaa-20260101T000000Z")
    b, paths = resolve_output_argv(argv, tmp_path, "demo-1111aaaa-20260102T000000Z")
    assert a[1] == "/shared/ckpt/demo-1111aaaa-20260101T000000Z/ds" and a[3] == "/shared/ckpt/demo-1111aaaa-20260101T000000Z/hf"
    assert b[1] == "/shared/ckpt/demo-1111aaaa-20260102T000000Z/ds"
    assert a[5] == b[5] == "/tb"  # TensorBoard keeps its path (runs are told apart inside it)
    assert paths["--ckpt.output_dir"] == b[3]


def test_a_run_dir_said_to_hold_the_bundle_must_hold_it(tmp_path: Path, tokenizer: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    """Ray on 'this' machine through a tunnel: the run dir polaris wrote is not on the node -> clear error."""
    bundle = _bundle(tmp_path, tokenizer)
    (bundle / "lock.json").write_text('{"recipe_sha256": "abc"}')
    elsewhere = tmp_path / "laptop" / "runs" / "demo-1"
    assert driver.main(["--bundle", str(bundle), "--run-dir", str(elsewhere), "--run-dir-holds-bundle",
                        "--prepare-only"]) == 1
    assert "is not visible on this node" in capsys.readouterr().err
    assert not elsewhere.exists()  # nothing created in a path that belongs to another machine
    elsewhere.mkdir(parents=True)
    (elsewhere / "lock.json").write_text('{"recipe_sha256": "abc"}')  # the same bundle: same machine
    assert driver.main(["--bundle", str(bundle), "--run-dir", str(elsewhere), "--run-dir-holds-bundle",
                        "--prepare-only"]) == 0
    assert (elsewhere / "run_lock.json").is_file()


def test_run_dir_receives_lock_state_and_checkpoint_paths(
    tmp_path: Path, tokenizer: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    record = install_recorder(tmp_path, monkeypatch)
    bundle = _bundle(tmp_path, tokenizer, port=free_port())
    run_dir = tmp_path / "runs" / "demo-12345678-20260101T000000Z"
    code = driver.main(["--bundle", str(bundle), "--run-dir", str(run_dir), "--train-module",
                        "polaris_test_recorder", "--no-ray"])
    assert code == 0
    # the record of the run is in the run dir, not in the copy the driver ran in
    lock = json.loads((run_dir / "run_lock.json").read_text())
    assert not (bundle / "run_lock.json").exists()
    assert lock["outputs"]["run_dir"] == str(run_dir.resolve())
    assert lock["outputs"]["argv_paths"]["--ckpt.path"] == str(run_dir.resolve() / "checkpoints/ds")
    assert (run_dir / "state" / "reward" / "audit.jsonl").is_file() and not (bundle / "state").exists()
    assert (run_dir / "data" / "train.rendered.jsonl").read_bytes() == \
        (bundle / "data" / "train.rendered.jsonl").read_bytes()  # workers read the bundle's copy
    seen = json.loads(record.read_text())["argv"][1:]
    assert seen[seen.index("--ckpt.path") + 1] == str(run_dir.resolve() / "checkpoints/ds")
    assert seen[seen.index("--logger.tensorboard_dir") + 1] == str(run_dir.resolve() / "tb")
    assert f"outputs: {run_dir.resolve()}" in capsys.readouterr().out


def test_without_run_dir_in_a_ray_job_the_driver_warns(
    tmp_path: Path, tokenizer: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    bundle = _bundle(tmp_path, tokenizer)
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    assert driver.main(["--bundle", str(bundle), "--prepare-only"]) == 0
    out = capsys.readouterr().out
    assert f"warning: no --run-dir: outputs go to {bundle.resolve()}" in out
    lock = json.loads((bundle / "run_lock.json").read_text())
    assert lock["outputs"]["reward_state"] == str(bundle.resolve() / "state" / "reward")


def test_relative_run_dir_is_refused(tmp_path: Path, tokenizer: Path, capsys: pytest.CaptureFixture) -> None:
    bundle = _bundle(tmp_path, tokenizer)
    assert driver.main(["--bundle", str(bundle), "--run-dir", "runs/x", "--prepare-only"]) == 1
    assert "--run-dir must be an absolute path" in capsys.readouterr().err


def test_wandb_files_go_to_the_output_dir_unless_the_user_chose(tmp_path: Path) -> None:
    logs = ["--logger.wandb.key", "WANDB_API_KEY", "--logger.wandb.project", "p"]
    assert wandb_dir(logs, tmp_path, {}) == str(tmp_path)
    assert wandb_dir(logs, tmp_path, {"WANDB_DIR": "/mine"}) is None  # the user's choice stands
    assert wandb_dir(["--ckpt.path", "x"], tmp_path, {}) is None  # no W&B in this run


def test_driver_records_the_wandb_dir(tmp_path: Path, tokenizer: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("WANDB_DIR", raising=False)
    bundle = _bundle(tmp_path, tokenizer)
    (bundle / "openrlhf_argv.json").write_text(json.dumps(ARGV + ["--logger.wandb.key", "WANDB_API_KEY"]))
    run_dir = tmp_path / "runs" / "r1"
    assert driver.main(["--bundle", str(bundle), "--run-dir", str(run_dir), "--prepare-only"]) == 0
    lock = json.loads((run_dir / "run_lock.json").read_text())
    assert lock["outputs"]["wandb_dir"] == str(run_dir.resolve())
    assert f"W&B local files under {run_dir.resolve()}/wandb" in capsys.readouterr().out


def test_workers_get_the_wandb_dir(tmp_path: Path, tokenizer: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime env handed to ray.init carries WANDB_DIR (every worker, incl. the one that logs)."""
    monkeypatch.delenv("WANDB_DIR", raising=False)
    record = install_recorder(tmp_path, monkeypatch)
    bundle = _bundle(tmp_path, tokenizer, port=free_port())
    (bundle / "openrlhf_argv.json").write_text(json.dumps(ARGV + ["--logger.wandb.key", "WANDB_API_KEY"]))
    seen: list[dict] = []
    monkeypatch.setattr(driver, "init_ray", lambda env: seen.append(env) or "a fake Ray")
    run_dir = tmp_path / "runs" / "r2"
    assert driver.run_driver(bundle, train_module="polaris_test_recorder", run_dir=run_dir) == 0
    assert seen[0]["env_vars"]["WANDB_DIR"] == str(run_dir.resolve()) and record.is_file()
