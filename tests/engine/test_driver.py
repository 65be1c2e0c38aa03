"""The driver on CPU with a tokenizer built here: rendering, budgets, cluster data, the entrypoint."""

from __future__ import annotations

import hashlib
import json
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_driver_kit import install_recorder, free_port, make_bundle, make_tokenizer, read_jsonl, row_spec, write_jsonl  # noqa: E402

from polaris.engine.openrlhf import driver  # noqa: E402
from polaris.engine.openrlhf._driver_data import DriverError  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tokenizer(tmp_path_factory.mktemp("tok"))


def _prepared(i: str, *, ref: str | None = "the sea the sea", reasoning: str | None = None, words: int = 800,
              prompt: str = "write a story about the sea") -> dict:
    return {"id": i, "messages": [{"role": "user", "content": prompt}],
            "label": {"id": i, "target_words": words, "split": "train", "judge_prompt": prompt,
                      "reference": ref, "reasoning": reasoning}}


def _bundle_with_rows(tmp: Path, tokenizer: Path, rows: list[dict], **kw) -> Path:
    root = tmp / "bundle"
    write_jsonl(root / "data" / "train.jsonl", rows)
    spec = row_spec(**kw.pop("spec", {}))
    return make_bundle(root, tokenizer, sources={"train": {"prepared": "data/train.jsonl"}}, spec=spec, **kw)


@pytest.mark.parametrize("thinking", [True, False])
def test_render_thinking_on_off(tmp_path: Path, tokenizer: Path, thinking: bool) -> None:
    bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("a")], thinking=thinking)
    cfg = json.loads((bundle / "driver.json").read_text())
    result = driver.prepare_run(bundle, cfg)
    (row,) = read_jsonl(bundle / "data" / "train.rendered.jsonl")
    assert row["prompt"].startswith("<|im_start|>user\nwrite a story about the sea<|im_end|>\n")
    tail = "<|im_start|>assistant\n" + ("" if thinking else "<think>\n\n</think>\n\n")
    assert row["prompt"].endswith(tail)
    label = json.loads(row["label"])
    assert label["id"] == "a" and label["target_words"] == 800
    assert result.rows == {"train": 1}
    lock = json.loads((bundle / "run_lock.json").read_text())
    assert lock["tokenizer"]["thinking"] is thinking and lock["rendered"]["train"]["rows"] == 1


def test_overlong_reference_counts_think_block_and_end_token(tmp_path: Path, tokenizer: Path) -> None:
    ten = " ".join(["sea"] * 10)
    rows = [_prepared("fits", ref=ten, reasoning="plan"), _prepared("short", ref="sea", reasoning="plan")]
    # without thinking: 10 words + end token = 11 <= 12 fits
    off = _bundle_with_rows(tmp_path / "off", tokenizer, rows, max_new_tokens=12)
    driver.prepare_run(off, json.loads((off / "driver.json").read_text()))
    assert len(read_jsonl(off / "data" / "train.rendered.jsonl")) == 2
    # with thinking: <think> + plan + </think> + 10 words + end token = 14 > 12
    on = _bundle_with_rows(tmp_path / "on", tokenizer, rows, max_new_tokens=12, thinking=True)
    res = driver.prepare_run(on, json.loads((on / "driver.json").read_text()))
    assert [json.loads(r["label"])["id"] for r in read_jsonl(on / "data" / "train.rendered.jsonl")] == ["short"]
    assert res.dropped["train"] == {"reference_too_long": ["fits"]}
    lock = json.loads((on / "run_lock.json").read_text())
    assert lock["dropped"]["train"] == {"reference_too_long": 1}
    assert lock["dropped_ids"]["train"]["reference_too_long"] == ["fits"]


def test_overlong_reference_error_mode(tmp_path: Path, tokenizer: Path) -> None:
    rows = [_prepared("big", ref=" ".join(["sea"] * 40)), _prepared("ok")]
    bundle = _bundle_with_rows(tmp_path, tokenizer, rows, max_new_tokens=20,
                               spec={"overlong_references": "error"})
    with pytest.raises(DriverError, match=r"1 train reference\(s\) do not fit grpo.max_new_tokens \(20\).*big \(41 tokens\)"):
        driver.prepare_run(bundle, json.loads((bundle / "driver.json").read_text()))
    assert not (bundle / "data" / "train.rendered.jsonl").exists()


def test_prompt_too_long_dropped_and_counted(tmp_path: Path, tokenizer: Path, capsys: pytest.CaptureFixture) -> None:
    long_prompt = " ".join(["sea"] * 30)
    rows = [_prepared("long", prompt=long_prompt), _prepared("ok")]
    # the short prompt renders to 12 tokens with thinking on (see the template), the long one to 35
    bundle = _bundle_with_rows(tmp_path, tokenizer, rows, thinking=True, max_prompt_tokens=20)
    driver.prepare_run(bundle, json.loads((bundle / "driver.json").read_text()))
    assert [json.loads(r["label"])["id"] for r in read_jsonl(bundle / "data" / "train.rendered.jsonl")] == ["ok"]
    assert json.loads((bundle / "run_lock.json").read_text())["dropped"]["train"] == {"prompt_too_long": 1}
    assert "train: dropped 1 row(s): prompt_too_long (ids: long)" in capsys.readouterr().out


def test_all_rows_dropped_is_an_error(tmp_path: Path, tokenizer: Path) -> None:
    bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("x")], max_prompt_tokens=3)
    with pytest.raises(DriverError, match="no training rows are left"):
        driver.prepare_run(bundle, json.loads((bundle / "driver.json").read_text()))


def test_cluster_jsonl_source_prepared_hashed_and_joined(tmp_path: Path, tokenizer: Path) -> None:
    cluster = tmp_path / "cluster"
    prompts = write_jsonl(cluster / "prompts.jsonl", [
        {"uid": "u1", "prompt": "write a story about the sea", "target_word_count": 900},
        {"uid": "u2", "prompt": "write a story about the sea", "target_word_count": 5000},
        {"uid": "u3", "prompt": "write a story about the sea", "target_word_count": 1200},
    ])
    refs = write_jsonl(cluster / "refs.jsonl", [{"uid": "u1", "reference": "the sea", "reasoning": "plan"},
                                                {"uid": "u3", "reference": "", "reasoning": None}])
    evals = write_jsonl(cluster / "eval.jsonl", [{"uid": "e1", "prompt": "write about the sea", "target_word_count": 700}])
    spec = row_spec(id_field="uid", target_field="target_word_count", ref_id_field="uid",
                    ref_story_field="reference", ref_reasoning_field="reasoning", max_target_words=4000,
                    missing_references="drop", require_reasoning_trace=True, thinking=True)
    sources = {"train": {"path": str(prompts), "format": "auto", "location": "cluster"},
               "eval": {"path": str(evals), "format": "jsonl", "location": "cluster"},
               "references": {"path": str(refs), "format": "auto", "location": "cluster", "id_field": "uid",
                              "story_field": "reference", "reasoning_field": "reasoning"}}
    bundle = make_bundle(tmp_path / "b", tokenizer, sources=sources, spec=spec, thinking=True)
    driver.prepare_run(bundle, json.loads((bundle / "driver.json").read_text()))
    lock = json.loads((bundle / "run_lock.json").read_text())
    for key, path in (("train", prompts), ("eval", evals), ("references", refs)):
        assert lock["sources"][key]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert lock["sources"][key]["path"] == str(path)
    assert lock["dropped"]["train"] == {"missing_reference": 1, "target_above_max": 1}
    train = read_jsonl(bundle / "data" / "train.rendered.jsonl")
    assert len(train) == 1 and set(train[0]) == {"prompt", "label"}
    label = json.loads(train[0]["label"])
    assert (label["id"], label["target_words"], label["reference"], label["reasoning"]) == ("u1", 900, "the sea", "plan")
    assert "approximately 900 words long." in train[0]["prompt"]
    (ev,) = read_jsonl(bundle / "data" / "eval.rendered.jsonl")
    ev_label = json.loads(ev["label"])
    assert ev_label["id"] == "e1" and ev_label["split"] == "eval" and ev_label["reference"] is None


def test_prepared_rows_with_cluster_references(tmp_path: Path, tokenizer: Path) -> None:
    refs = write_jsonl(tmp_path / "refs.jsonl", [{"id": "a", "story": "the sea"}])
    spec = row_spec(ref_id_field="id", ref_story_field="story", missing_references="drop")
    root = tmp_path / "bundle"
    write_jsonl(root / "data" / "train.jsonl", [_prepared("a", ref=None), _prepared("b", ref=None)])
    bundle = make_bundle(root, tokenizer, spec=spec, sources={
        "train": {"prepared": "data/train.jsonl"},
        "references": {"path": str(refs), "location": "cluster", "id_field": "id", "story_field": "story"}})
    driver.prepare_run(bundle, json.loads((bundle / "driver.json").read_text()))
    (row,) = read_jsonl(bundle / "data" / "train.rendered.jsonl")
    assert json.loads(row["label"])["reference"] == "the sea"


def test_missing_cluster_file_is_a_clear_error(tmp_path: Path, tokenizer: Path) -> None:
    bundle = make_bundle(tmp_path / "b", tokenizer, spec=row_spec(hri_enabled=False),
                         sources={"train": {"path": str(tmp_path / "nope.jsonl"), "location": "cluster"}})
    with pytest.raises(DriverError, match=r"data.train: file .*nope.jsonl does not exist on this node"):
        driver.prepare_run(bundle, json.loads((bundle / "driver.json").read_text()))


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_entrypoint_runs_train_module_with_argv_and_stops_service(
    tmp_path: Path, tokenizer: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    record = install_recorder(tmp_path, monkeypatch)
    port = free_port()
    argv = ["--data.prompt_dataset", "data/train.rendered.jsonl", "--rollout.n_samples_per_prompt", "4"]
    bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("a")], port=port, argv=argv)
    code = driver.main(["--bundle", str(bundle), "--train-module", "polaris_test_recorder", "--no-ray"])
    assert code == 0
    seen = json.loads(record.read_text())
    # runpy sets argv[0] to the module's file, exactly as `python -m module` would
    assert seen["argv"][1:] == argv and seen["argv"][0].endswith("polaris_test_recorder.py")
    out = capsys.readouterr().out
    assert f"reward service healthy at http://127.0.0.1:{port}" in out and "reward service stopped" in out
    assert not _port_open(port)
    assert (bundle / "data" / "train.rendered.jsonl").is_file()


def test_entrypoint_propagates_failure_and_still_stops_service(
    tmp_path: Path, tokenizer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "polaris_test_failing.py").write_text("import sys\nsys.exit(7)\n")
    monkeypatch.syspath_prepend(str(mods))
    port = free_port()
    bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("a")], port=port)
    assert driver.main(["--bundle", str(bundle), "--train-module", "polaris_test_failing", "--no-ray"]) == 7
    assert not _port_open(port)


def test_reward_service_that_dies_is_reported(tmp_path: Path, tokenizer: Path, capsys: pytest.CaptureFixture) -> None:
    bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("a")], port=free_port(), extra={
        "reward_service": {"port": free_port(), "command": [sys.executable, "-c", "raise SystemExit(3)"]}})
    assert driver.main(["--bundle", str(bundle), "--train-module", "json", "--no-ray"]) == 1
    assert "the reward service exited with code 3 before it was healthy" in capsys.readouterr().err


def test_busy_reward_port_is_refused(tmp_path: Path, tokenizer: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("a")], port=port)
        assert driver.main(["--bundle", str(bundle), "--train-module", "json", "--no-ray"]) == 1
    assert f"port {port} is already in use" in capsys.readouterr().err


def test_prepare_only_and_default_service_command(tmp_path: Path, tokenizer: Path) -> None:
    from polaris.engine.openrlhf._driver_service import reward_service_command

    bundle = _bundle_with_rows(tmp_path, tokenizer, [_prepared("a")])
    assert driver.main(["--bundle", str(bundle), "--prepare-only"]) == 0
    assert (bundle / "run_lock.json").is_file()
    cmd = reward_service_command({"port": 9000, "state_dir": "state/reward", "token_env": "TOK", "bind": "0.0.0.0"},
                                 bundle, python="py")
    assert cmd == ["py", "-m", "polaris.cli.main", "serve-reward", str(bundle), "--port", "9000", "--state-dir",
                   str(bundle / "state/reward"), "--host", "0.0.0.0", "--token-env", "TOK"]


def test_runtime_env_forwards_names_and_keeps_defaults() -> None:
    from polaris.engine.openrlhf._driver_ray import build_runtime_env

    job = {"runtime_env": {"env_vars": {"POLARIS_HOOK_CONFIG": "polaris_hook.json", "TOKENIZERS_PARALLELISM": "false"},
                           "worker_process_setup_hook": "polaris.hri.hook.install"},
           "forward_env": ["JUDGE_KEY", {"name": "OPTIONAL_KEY", "required": False}]}
    env = build_runtime_env(Path("/b"), {"env": {"POLARIS_EXECUTOR_CONFIG": "x.json"}}, job,
                            {"JUDGE_KEY": "s3cret", "NCCL_DEBUG": "INFO"}, extra_env={"POLARIS_REWARD_SERVICE_URL": "u"})
    ev = env["env_vars"]
    assert ev["JUDGE_KEY"] == "s3cret" and "OPTIONAL_KEY" not in ev
    assert ev["NCCL_DEBUG"] == "INFO" and ev["TOKENIZERS_PARALLELISM"] == "false"
    assert ev["RAY_ENABLE_ZERO_COPY_TORCH_TENSORS"] == "1" and ev["POLARIS_EXECUTOR_CONFIG"] == "x.json"
    assert env["worker_process_setup_hook"] == "polaris.hri.hook.install" and env["working_dir"] == "/b"
    assert "data/train.jsonl" in env["excludes"]


def test_compiled_bundle_with_cluster_train_and_local_references(tmp_path: Path) -> None:
    """The compiler copies local references into the bundle; the driver joins them to cluster rows."""
    from polaris.compile import compile_recipe, write_bundle
    from polaris.engine.openrlhf._driver_data import load_data
    from polaris.recipe import load_recipe

    root = Path(__file__).resolve().parents[2]
    stories = [json.loads(line) for line in (root / "data" / "demo_stories.jsonl").read_text().splitlines()][:3]
    write_jsonl(tmp_path / "train.jsonl", [{"id": s["id"], "prompt": s["prompt"], "target_words": s["target_words"]} for s in stories])
    write_jsonl(tmp_path / "refs.jsonl", [{"id": s["id"], "reference": s["reference"]} for s in stories])
    text = (root / "recipes" / "demo.yaml").read_text()
    text = text.replace("    path: ../data/demo_stories.jsonl", f"    path: {tmp_path / 'train.jsonl'}\n    location: cluster")
    text = text.replace("    reference: reference\n", "")
    text = text.replace("data:\n", f"data:\n  references: {{path: {tmp_path / 'refs.jsonl'}}}\n", 1)
    (tmp_path / "r.yaml").write_text(text)
    bundle_dir = tmp_path / "bundle"
    write_bundle(compile_recipe(load_recipe(str(tmp_path / "r.yaml"))), bundle_dir)
    cfg = json.loads((bundle_dir / "driver.json").read_text())
    assert cfg["sources"]["references"]["location"] == "bundle"
    loaded = load_data(bundle_dir, cfg)
    rows = loaded.splits["train"].rows
    assert [r["id"] for r in rows] == [s["id"] for s in stories]
    assert [r["label"]["reference"] for r in rows] == [s["reference"] for s in stories]
    assert loaded.sources["train"]["sha256"] == hashlib.sha256((tmp_path / "train.jsonl").read_bytes()).hexdigest()


def test_missing_argv_file_stops_a_training_run_but_not_prepare_only(tmp_path: Path, tokenizer: Path) -> None:
    src = write_jsonl(tmp_path / "train.jsonl", [{"prompt": "Write about the sea.", "id": "a", "target_words": 100}])
    bundle = make_bundle(tmp_path / "b", tokenizer, spec=row_spec(hri_enabled=False),
                         sources={"train": {"path": str(src), "format": "jsonl", "location": "cluster"}})
    (bundle / "openrlhf_argv.json").unlink()
    assert driver.run_driver(bundle, use_ray=False, prepare_only=True, run_dir=tmp_path / "out") == 0
    with pytest.raises(DriverError, match=r"openrlhf_argv.json: missing from the bundle"):
        driver.run_driver(bundle, use_ray=False, run_dir=tmp_path / "out2")
