"""The launch path against a real local Ray head on CPU (slow): submit, follow, secrets, Ctrl-C."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from polaris.launch import LaunchError, launch

pytestmark = pytest.mark.slow

SECRET_NAME = "POLARIS_TEST_JUDGE_KEY"
SECRET = "sk-test-" + "q7Zr2pX9vL4mN8bT"

JOB_MAIN = '''
import hashlib, os, sys
value = os.environ.get("POLARIS_TEST_JUDGE_KEY", "")
print("secret-sha256", hashlib.sha256(value.encode()).hexdigest())
print("plain-var", os.environ.get("POLARIS_PLAIN"))
print("hello from the bundle", open("payload.txt").read().strip())
print("job-argv", sys.argv[1:])
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
'''


def _bundle(root: Path, entrypoint: str = "python job_main.py", env: dict | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "job_main.py").write_text(JOB_MAIN)
    (root / "payload.txt").write_text("payload-42\n")
    (root / "job.json").write_text(json.dumps({
        "entrypoint": entrypoint,
        "runtime_env": {"working_dir": ".", "env_vars": {"POLARIS_PLAIN": "plain-value", **(env or {})}},
        "forward_env": [SECRET_NAME],
        "submission_id_prefix": "polaris-test",
        "run_dir_arg": "--run-dir",
    }))
    return root


def _assert_secret_not_on_disk(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"secret value written to {path}"


def test_submit_follow_and_forward_secret(ray_head, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle")
    out = io.StringIO()
    result = launch(bundle, address=ray_head.dashboard_url, environ={**os.environ, SECRET_NAME: SECRET}, out=out)
    text = out.getvalue()
    assert result.status == "SUCCEEDED" and result.exit_code == 0 and not result.head_started
    assert result.job_id.startswith("polaris-test-")
    assert "hello from the bundle payload-42" in text and "plain-var plain-value" in text
    assert f"secret-sha256 {hashlib.sha256(SECRET.encode()).hexdigest()}" in text
    assert SECRET not in text
    _assert_secret_not_on_disk(bundle)


def test_failed_job_exit_code(ray_head, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle", env={"EXIT_WITH": "3"})
    result = launch(bundle, address=ray_head.dashboard_url, environ={SECRET_NAME: SECRET}, out=io.StringIO())
    assert result.status == "FAILED" and result.exit_code == 1


def test_missing_secret_fails_before_submitting(ray_head, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle")
    env = {k: v for k, v in os.environ.items() if k != SECRET_NAME}
    with pytest.raises(LaunchError, match=f"{SECRET_NAME} are not set on this machine"):
        launch(bundle, address=ray_head.dashboard_url, environ=env, out=io.StringIO())


def test_ctrl_c_stops_the_job(ray_head, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle", entrypoint="python -c \"print('started', flush=True); import time; time.sleep(600)\"")
    out = io.StringIO()
    timer = threading.Timer(6.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result = launch(bundle, address=ray_head.dashboard_url, environ={SECRET_NAME: SECRET}, out=out)
    finally:
        timer.cancel()
    assert result.exit_code == 130 and result.status == "STOPPED", out.getvalue()
    assert "interrupted: stopping job" in out.getvalue()


def test_local_head_started_and_stopped(tmp_path: Path) -> None:
    temp = tempfile.mkdtemp(prefix="prt", dir="/tmp")
    bundle = _bundle(tmp_path / "bundle")
    try:
        out = io.StringIO()
        result = launch(bundle, address=None, environ={SECRET_NAME: SECRET}, out=out, gpu_probe=lambda: 1,
                        num_cpus=2, temp_dir=temp)
        assert result.head_started and result.status == "SUCCEEDED", out.getvalue()
        assert f"job-argv ['--run-dir', '{bundle.resolve()}']" in out.getvalue()  # told where the run dir is
        assert "stopping the local Ray head" in out.getvalue()
        with pytest.raises(ProcessLookupError):
            os.kill(result.head_pid, 0)  # the `ray start --block` process we owned is gone
        assert (bundle / "logs" / "ray_head.log").is_file()
        _assert_secret_not_on_disk(bundle)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def test_driver_as_ray_job_reaches_workers(ray_head, tmp_path: Path) -> None:
    """The real driver as the job entrypoint: rendered data and env reach a Ray task through ray.init;
    run_lock.json, the reward state and a checkpoint a worker writes land in the run dir, not in Ray's copies."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from test_driver_kit import make_bundle, make_tokenizer, row_spec, write_jsonl

    tok = make_tokenizer(tmp_path / "tok")
    root = tmp_path / "bundle"
    write_jsonl(root / "data" / "train.jsonl", [{"id": "r1", "messages": [{"role": "user", "content": "the sea"}],
                                                 "label": {"id": "r1", "target_words": 500, "split": "train",
                                                           "judge_prompt": "the sea", "reference": "sea",
                                                           "reasoning": None}}])
    from test_driver_kit import free_port

    bundle = make_bundle(root, tok, sources={"train": {"prepared": "data/train.jsonl"}}, spec=row_spec(),
                         port=free_port(), argv=["--data.prompt_dataset", "data/train.rendered.jsonl",
                                                 "--ckpt.path", "checkpoints/ds"])
    driver_cfg = json.loads((bundle / "driver.json").read_text())
    driver_cfg["reward_service"]["command"].append("{state_dir}")  # the fake service marks its state dir
    (bundle / "driver.json").write_text(json.dumps(driver_cfg))
    (bundle / "ray_train_probe.py").write_text(
        "import json, os, sys, ray\n"
        "ckpt = sys.argv[sys.argv.index('--ckpt.path') + 1]\n"
        "@ray.remote(num_cpus=1)\n"
        "def probe():\n"
        "    first = open('data/train.rendered.jsonl').readline()\n"
        "    os.makedirs(ckpt, exist_ok=True)\n"  # as OpenRLHF's ranks do, from the worker's cwd
        "    open(os.path.join(ckpt, 'step1.pt'), 'w').write(os.getcwd())\n"
        "    return {'id': json.loads(json.loads(first)['label'])['id'],\n"
        "            'url': os.environ.get('POLARIS_REWARD_SERVICE_URL'),\n"
        "            'secret': os.environ.get('POLARIS_TEST_JUDGE_KEY') == os.environ.get('EXPECT', 'x')}\n"
        "assert ray.is_initialized()\n"
        "print('PROBE', json.dumps(ray.get(probe.remote())), flush=True)\n"
    )
    job = json.loads((bundle / "job.json").read_text())
    job["entrypoint"] = "python -m polaris.engine.openrlhf.driver --bundle . --train-module ray_train_probe"
    job["forward_env"] = [SECRET_NAME]
    (bundle / "job.json").write_text(json.dumps(job))
    out = io.StringIO()
    result = launch(bundle, address=ray_head.dashboard_url, environ={SECRET_NAME: SECRET}, out=out)
    text = out.getvalue()
    assert result.status == "SUCCEEDED", text
    line = next(x for x in text.splitlines() if x.startswith("PROBE "))
    probe = json.loads(line[len("PROBE "):])
    assert probe["id"] == "r1" and probe["url"].startswith("http://127.0.0.1:")
    assert "reward service stopped" in text
    lock = json.loads((bundle / "run_lock.json").read_text())
    assert lock["outputs"]["run_dir"] == str(bundle.resolve()) and lock["rendered"]["train"]["rows"] == 1
    assert (bundle / "state" / "reward" / "audit.jsonl").is_file()
    assert (bundle / "data" / "train.rendered.jsonl").is_file()
    worker_cwd = (bundle / "checkpoints" / "ds" / "step1.pt").read_text()
    assert Path(worker_cwd).resolve() != bundle.resolve()  # the worker ran in a copy, yet wrote here
    _assert_secret_not_on_disk(bundle)
