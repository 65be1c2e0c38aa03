"""`polaris compile`: shipped recipes become bundles that OpenRLHF 0.11.2's own parser accepts."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

from polaris.cli.main import main
from polaris.compile import SecretLeak, compile_recipe, write_bundle
from polaris.engine.openrlhf import validate_argv
from polaris.recipe import RecipeError, load_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes"


def compile_to(tmp_path, name, *sets):
    out = tmp_path / name.replace(".yaml", "")
    bundle = compile_recipe(load_recipe(str(RECIPES / name), list(sets)))
    write_bundle(bundle, out)
    return bundle, out


def read_json(path):
    return json.loads(Path(path).read_text())


@pytest.mark.parametrize("name", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_every_shipped_recipe_compiles_and_engine_accepts_it(tmp_path, name):
    bundle, out = compile_to(tmp_path, name)
    argv = read_json(out / "openrlhf_argv.json")
    result = validate_argv(argv)
    assert result.ok, result.error
    for rel in ("resolved.yaml", "lock.json", "job.json", "driver.json", "reward_service.json",
                "polaris_executor.json", "polaris_hook.json", "plugins/polaris_executor.py", "openrlhf_argv.sh"):
        assert (out / rel).is_file(), rel


def test_polaris9b_is_the_paper_layout(tmp_path):
    bundle, out = compile_to(tmp_path, "polaris9b.yaml")
    args = validate_argv(read_json(out / "openrlhf_argv.json")).args
    assert args.algo.advantage.estimator == "group_norm"
    assert args.rollout.n_samples_per_prompt == 6
    assert args.train.agent_func_path == "plugins/polaris_executor.py"
    assert args.reward.remote_url == ["agent"]
    assert args.actor.num_nodes * args.actor.num_gpus_per_node == 4
    assert args.vllm.num_engines * args.vllm.tensor_parallel_size == 4
    assert args.actor.eps_clip_low_high == [0.2, 0.28]
    # OpenRLHF clamps after the group baseline: no clamp on advantages unless grpo.advantage_clip says so
    assert args.reward.clip_range == [-1.0e9, 1.0e9]
    assert args.data.max_len == 8448 and args.rollout.max_new_tokens == 8192
    plan = read_json(out / "plan.json")
    assert bundle.summary["memory_verdict"] in ("fits", "tight")
    assert plan["per_gpu_type"]["a100-80g"]["verdict"] != "does_not_fit"
    ex = read_json(out / "polaris_executor.json")
    assert ex["hri_enabled"] and ex["samples_per_prompt"] == 6
    assert ex["sampling"] == {"top_k": 20, "repetition_penalty": 1.1, "min_p": 0.0}
    hook = read_json(out / "polaris_hook.json")
    assert hook["exclude_reference_from_stats"] and hook["weight"]["peak"] == 0.4 and hook["weight"]["warmup_steps"] == 15
    job = read_json(out / "job.json")
    assert job["runtime_env"]["worker_process_setup_hook"] == "polaris.hri.hook.install"
    assert job["forward_env"] == [{"name": "GEMINI_API_KEY", "required": True}, {"name": "OPENAI_API_KEY", "required": False}]
    # Hub data and the cluster's reference file are recorded, not read.
    lock = read_json(out / "lock.json")
    assert {c["key"] for c in lock["cluster_files"]} == {"data.train", "data.eval", "data.references.path"}


def test_no_hri_is_the_same_job_without_injection(tmp_path):
    _, a = compile_to(tmp_path, "polaris9b.yaml")
    _, b = compile_to(tmp_path, "polaris9b-no-hri.yaml")
    assert read_json(a / "openrlhf_argv.json") == read_json(b / "openrlhf_argv.json")
    ea, eb = read_json(a / "polaris_executor.json"), read_json(b / "polaris_executor.json")
    assert ea.pop("hri_enabled") is True and eb.pop("hri_enabled") is False
    assert ea == eb
    ha, hb = read_json(a / "polaris_hook.json"), read_json(b / "polaris_hook.json")
    assert ha.pop("hri_enabled") is True and hb.pop("hri_enabled") is False
    assert ha == hb


def test_demo_data_is_prepared_locally_with_labels(tmp_path):
    bundle, out = compile_to(tmp_path, "demo.yaml")
    rows = [json.loads(line) for line in (out / "data" / "train.jsonl").read_text().splitlines()]
    source = [json.loads(line) for line in (ROOT / "data" / "demo_stories.jsonl").read_text().splitlines()]
    kept = [s for s in source if s["target_words"] <= 4500]
    assert len(rows) == len(kept) == bundle.summary["train_rows"]
    assert any("dropped 5 row(s)" in n for n in bundle.notes)  # reported, never silent
    for row in rows:
        assert {"id", "target_words"} <= set(row["label"])
        assert row["label"]["reference"]
    lock = read_json(out / "lock.json")
    data_hash = hashlib.sha256((ROOT / "data" / "demo_stories.jsonl").read_bytes()).hexdigest()
    assert data_hash in lock["files"].values()
    assert lock["recipe_sha256"] == bundle.recipe_hash
    assert lock["versions"]["openrlhf_validated_with"] == "0.11.2"


def test_shell_copy_matches_json_argv(tmp_path):
    _, out = compile_to(tmp_path, "polaris9b.yaml")
    text = (out / "openrlhf_argv.sh").read_text().replace("\\\n", " ")
    words = shlex.split(text)
    assert words[:3] == ["python3", "-m", "openrlhf.cli.train_ppo_ray"]
    assert words[3:] == read_json(out / "openrlhf_argv.json")


def test_memory_plan_refuses_a100_40g_with_the_knob(tmp_path):
    with pytest.raises(RecipeError) as info:
        compile_to(tmp_path, "polaris9b.yaml", "cluster.gpu_type=a100-40g")
    [problem] = info.value.problems
    assert problem.path == "cluster.gpu_type" and "does not fit a100-40g" in problem.message
    assert problem.file == "<--set>" and "allow_memory_overcommit" in problem.hint
    assert "cluster.adam_offload: true" in problem.hint  # the knob, as a recipe field
    bundle, _ = compile_to(tmp_path, "polaris9b.yaml", "cluster.gpu_type=a100-40g", "cluster.allow_memory_overcommit=true")
    assert any("does not fit" in n for n in bundle.notes)


def test_two_nodes_of_eight_gpus(tmp_path):
    bundle, out = compile_to(tmp_path, "polaris9b.yaml", "cluster.nodes=2", "cluster.gpus_per_node=8")
    args = validate_argv(read_json(out / "openrlhf_argv.json")).args
    assert (args.actor.num_nodes, args.actor.num_gpus_per_node, args.vllm.num_engines) == (2, 8, 16)
    assert read_json(out / "polaris_executor.json")["reward_token_env"] == "POLARIS_REWARD_TOKEN"
    assert read_json(out / "driver.json")["reward_service"]["bind"] == "0.0.0.0"


def test_engine_rejection_names_the_recipe_field(tmp_path, monkeypatch):
    import polaris.engine.openrlhf._argv as argv_mod

    real = argv_mod.build_argv

    def broken(recipe, **kw):
        plan = real(recipe, **kw)
        i = plan.argv.index("--algo.advantage.estimator")
        plan.argv[i + 1] = "grpo"  # not a choice in 0.11.2
        return plan

    monkeypatch.setattr(argv_mod, "build_argv", broken)
    with pytest.raises(RecipeError) as info:
        compile_recipe(load_recipe(str(RECIPES / "polaris9b.yaml")))
    [problem] = info.value.problems
    assert problem.path == "grpo.estimator" and "invalid choice" in problem.message
    assert problem.file.endswith("polaris9b.yaml") and problem.line > 1


def test_no_secret_reaches_the_bundle_or_output(tmp_path, monkeypatch, capsys):
    secret = "sk-test-0123456789abcdefSECRET"
    monkeypatch.setenv("GEMINI_API_KEY", secret)
    out = tmp_path / "b"
    assert main(["compile", str(RECIPES / "polaris9b.yaml"), "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert secret not in printed.out + printed.err
    for f in out.rglob("*"):
        if f.is_file():
            assert secret not in f.read_text(errors="replace"), f


def test_write_bundle_refuses_a_leaked_secret(tmp_path, monkeypatch):
    secret = "sk-test-abcdefghijklmnop"
    monkeypatch.setenv("GEMINI_API_KEY", secret)
    bundle = compile_recipe(load_recipe(str(RECIPES / "polaris9b.yaml")))
    bundle.files["oops.txt"] = f"key={secret}"
    with pytest.raises(SecretLeak):
        write_bundle(bundle, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_compile_cli_invalid_recipe_exit_3(tmp_path, capsys):
    assert main(["compile", str(RECIPES / "polaris9b.yaml"), "-o", str(tmp_path / "x"), "--set", "cluster.gpu_type=a100-40g"]) == 3
    assert "cluster.gpu_type" in capsys.readouterr().err


def test_an_openrlhf_silent_rewrite_is_a_compile_error(tmp_path, monkeypatch):
    import polaris.engine.openrlhf._argv as argv_mod

    real = argv_mod.build_argv

    def without_colocation(recipe, **kw):
        plan = real(recipe, **kw)
        plan.argv.remove("--train.colocate_all")  # OpenRLHF then turns --vllm.enable_sleep off by itself
        return plan

    monkeypatch.setattr(argv_mod, "build_argv", without_colocation)
    with pytest.raises(RecipeError) as info:
        compile_recipe(load_recipe(str(RECIPES / "polaris9b.yaml")))
    [p] = [p for p in info.value.problems if "silently change" in p.message]
    assert "enable_sleep" in p.message
    # located at the recipe field behind the rewritten flag, not at the whole cluster section
    assert p.path == "cluster.vllm.enable_sleep" and p.line > 0


def test_every_known_rewrite_names_real_flags():
    from polaris.engine.openrlhf import list_flags, rewrite_flags
    from polaris.engine.openrlhf._validator import REWRITE_FLAGS

    flags = list_flags()
    assert all(f in flags for _, fs in REWRITE_FLAGS for f in fs)
    assert rewrite_flags("Set args.vllm.enable_sleep to False when args.train.colocate_all is disabled.") == [
        "--vllm.enable_sleep", "--train.colocate_all"]
    assert rewrite_flags("something new") == []


def test_compile_refuses_a_non_empty_output_dir(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["compile", str(RECIPES / "demo.yaml"), "-o", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["compile", str(RECIPES / "polaris9b.yaml"), "-o", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing mixed in


def test_run_dirs_are_never_reused(tmp_path):
    import datetime as dt

    from polaris.cli.run import new_run_dir

    now = dt.datetime(2026, 11, 26, 10, 0, 0, tzinfo=dt.timezone.utc)
    first = new_run_dir(tmp_path, "x", "a" * 64, now)
    first.mkdir(parents=True)
    second = new_run_dir(tmp_path, "x", "a" * 64, now)
    assert second != first and second.name == first.name + "-2"


def test_output_checkpoint_dir_reaches_the_argv(tmp_path):
    # shared storage for multi-node checkpoints: the recipe field must be what OpenRLHF writes to
    bundle = compile_recipe(load_recipe(str(RECIPES / "demo.yaml"), ["output.checkpoint_dir=/shared/ckpt/demo"]))
    argv = bundle.argv
    assert argv[argv.index("--ckpt.path") + 1] == "/shared/ckpt/demo/ds"
    assert argv[argv.index("--ckpt.output_dir") + 1] == "/shared/ckpt/demo/hf"
    default = compile_recipe(load_recipe(str(RECIPES / "demo.yaml"))).argv
    assert default[default.index("--ckpt.path") + 1] == "checkpoints/ds"


def test_advantage_clip_is_the_only_thing_behind_reward_clip_range():
    # reward.clip clips the composite in the service; OpenRLHF's --reward.clip_range clamps advantages
    argv = compile_recipe(load_recipe(str(RECIPES / "demo.yaml"), ["reward.clip=1.5"])).argv
    i = argv.index("--reward.clip_range")
    assert argv[i + 1:i + 3] == ["-1000000000.0", "1000000000.0"]
    loaded = load_recipe(str(RECIPES / "demo.yaml"), ["grpo.advantage_clip=3"])
    clamped = compile_recipe(loaded).argv
    i = clamped.index("--reward.clip_range")
    assert clamped[i + 1:i + 3] == ["-3.0", "3.0"]
    from polaris.engine.openrlhf._argv import build_argv

    assert build_argv(loaded.recipe).origins["--reward.clip_range"] == ["grpo.advantage_clip"]


def test_lock_lists_the_rubric_file_with_its_sha256(tmp_path):
    builtin = RECIPES / "rubrics" / "polaris-story-quality.yaml"
    lock = json.loads(compile_recipe(load_recipe(str(RECIPES / "demo.yaml"))).files["lock.json"])
    assert lock["files"][str(builtin)] == hashlib.sha256(builtin.read_bytes()).hexdigest()
    own = tmp_path / "my-rubric.yaml"
    own.write_bytes(builtin.read_bytes() + b"\n# a local copy\n")
    loaded = load_recipe(str(RECIPES / "demo.yaml"), ["rubric.builtin=null", f"rubric.path={own}"])
    lock = json.loads(compile_recipe(loaded).files["lock.json"])
    assert lock["files"][str(own)] == hashlib.sha256(own.read_bytes()).hexdigest()
    assert str(builtin) not in lock["files"]
    assert lock["rubric_sha256"]  # the canonical scoring-rules hash stays


def test_job_names_the_run_dir_flag_but_holds_no_run_dir(tmp_path):
    # the run dir reaches the driver at launch time; the bundle does not depend on where it is written
    bundle = compile_recipe(load_recipe(str(RECIPES / "demo.yaml")))
    job = json.loads(bundle.files["job.json"])
    assert job["run_dir_arg"] == "--run-dir" and job["entrypoint"].endswith("--bundle .")
    assert not any(str(tmp_path) in text or "runs/" in text for text in bundle.files.values())
