"""`compile_recipe`: a validated recipe -> a job bundle for stock OpenRLHF 0.11.2.

Pure: reads only local files the recipe names (data, rubric, the shipped plugin), never the
network or a GPU. Every problem found is collected and raised together as a `RecipeError`
located at the recipe field that caused it.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from pathlib import Path
from typing import Any

from polaris import OPENRLHF_VERSION, __version__

from ._bundle import JobBundle
from ._configs import driver_config, executor_config, hook_config, job_config, reward_service_config
from ._data import prepare_local_data

__all__ = ["compile_recipe", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]
EXECUTOR_PLUGIN = REPO_ROOT / "plugins" / "polaris_executor.py"


def _git_info(where: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def _engine_problems(loaded: Any, plan: Any, bundle: JobBundle) -> list[Any]:
    """Run OpenRLHF 0.11.2's own parser and asserts, plus the checks it makes only inside train()."""
    from polaris.engine.openrlhf import check_train_time, rewrite_flags, validate_argv
    from polaris.resolve import problem_at

    recipe = loaded.recipe
    result = validate_argv(plan.argv)
    if not result.ok:
        fields = plan.fields_for(result.flag) or ["grpo"]
        flag = f" ({result.flag})" if result.flag else ""
        return [
            problem_at(
                loaded,
                fields[0],
                f"OpenRLHF {OPENRLHF_VERSION} rejects the compiled job{flag}: {result.error}",
                "this flag comes from " + ", ".join(fields),
            )
        ]
    problems = []
    for line in result.warnings:
        if line.lstrip().startswith("Recommend"):  # advice only: nothing was changed
            bundle.notes.append(f"OpenRLHF notice: {line}")
        else:  # the main block rewrote a setting after parsing: the recipe would not say what runs
            fields = plan.fields_for(rewrite_flags(line)) or ["cluster"]
            problems.append(
                problem_at(
                    loaded,
                    fields[0],
                    f"OpenRLHF {OPENRLHF_VERSION} would silently change the compiled job: {line.strip()}",
                    "change the recipe so OpenRLHF has nothing to rewrite"
                    + (f" (the setting comes from {', '.join(fields)})" if fields != ["cluster"] else ""),
                )
            )
    clip = recipe.reward.clip
    for p in check_train_time(
        result.args,
        # an explicit grpo.advantage_clip is meant to bind (on advantages, not rewards): nothing to check
        reward_range=(-clip, clip) if recipe.grpo.advantage_clip is None else None,
        prompt_tokens=recipe.grpo.max_prompt_tokens,
        model_id=recipe.model.policy,
    ):
        if p.severity != "error":
            bundle.notes.append(f"{p.message} (OpenRLHF {', '.join(p.flags)})")
            continue
        fields = plan.fields_for(p.flags) or ["grpo"]
        problems.append(problem_at(loaded, fields[0], f"{p.message} (OpenRLHF {', '.join(p.flags)})", p.hint))
    return problems


def _memory(loaded: Any, bundle: JobBundle) -> tuple[dict[str, Any] | None, list[Any]]:
    from polaris.plan import plan_memory
    from polaris.resolve import problem_at

    from ._layout import plan_input, recipe_change

    recipe = loaded.recipe
    try:
        report = plan_memory(plan_input(recipe))
    except ValueError as exc:
        return None, [problem_at(loaded, "model.params_b", f"cannot plan memory: {exc}", "set model.params_b")]
    data = report.to_dict()
    gpu = recipe.cluster.gpu_type
    mine = report.per_gpu_type.get(gpu)
    if mine is None:
        return data, []
    bundle.summary["memory_per_gpu_gib"] = round(mine.peak_gib, 1)
    bundle.summary["memory_capacity_gib"] = mine.capacity_gib
    bundle.summary["memory_verdict"] = mine.verdict
    if not mine.fits:
        knob = (
            "; ".join(f"{recipe_change(s.knob, s.change)} (saves {s.saving_gib:.1f} GiB)" for s in mine.suggestions[:3])
            or "use more or larger GPUs"
        )
        message = (
            f"the memory plan does not fit {gpu}: peak {mine.peak_gib:.1f} GiB per GPU ({mine.peak_phase}) "
            f"of {mine.capacity_gib:.0f} GiB"
        )
        if recipe.cluster.allow_memory_overcommit:
            bundle.notes.append(message + " (allowed by cluster.allow_memory_overcommit)")
        else:
            return data, [problem_at(loaded, "cluster.gpu_type", message, f"{knob}; or set cluster.allow_memory_overcommit: true")]
    return data, []


def compile_recipe(loaded: Any) -> JobBundle:
    """Compile a loaded recipe (`polaris.recipe.load_recipe`) into a `JobBundle`; raise `RecipeError`."""
    from polaris.engine.openrlhf._argv import build_argv
    from polaris.recipe import RecipeError, dump_resolved, recipe_hash
    from polaris.resolve import check_files, recipe_files

    recipe = loaded.recipe
    bundle = JobBundle(recipe_hash=recipe_hash(loaded))
    problems = list(check_files(loaded))

    plan = build_argv(recipe)
    bundle.argv = plan.argv
    problems += _engine_problems(loaded, plan, bundle)
    plan_data, mem_problems = _memory(loaded, bundle)
    problems += mem_problems

    data_hashes: dict[str, str] = {}
    cluster_files: list[dict[str, Any]] = []
    if not problems:
        prepared, data_problems = prepare_local_data(loaded, bundle, data_hashes, cluster_files)
        problems += data_problems
    if problems:
        raise RecipeError(problems)
    if not EXECUTOR_PLUGIN.is_file():
        raise FileNotFoundError(f"the executor plugin is missing from this installation: {EXECUTOR_PLUGIN}")

    svc = reward_service_config(loaded)
    rubric_hash = svc.pop("_rubric_hash")
    bundle.add_json("reward_service.json", svc)
    bundle.add_json("polaris_executor.json", executor_config(recipe))
    bundle.add_json("polaris_hook.json", hook_config(recipe))
    driver = driver_config(recipe, prepared)
    template = next((f for f in recipe_files(loaded) if f.role == "chat_template"), None)
    if template is not None:  # ship the user's template: the cluster may not have the recipe's folder
        bundle.files["chat_template.jinja"] = template.path.read_text(encoding="utf-8")
        driver["model"]["chat_template"] = "chat_template.jinja"
    bundle.add_json("driver.json", driver)
    bundle.files["plugins/polaris_executor.py"] = EXECUTOR_PLUGIN.read_text(encoding="utf-8")
    bundle.add_json("openrlhf_argv.json", plan.argv)
    bundle.files["openrlhf_argv.sh"] = bundle.shell_argv()
    job = job_config(recipe)
    bundle.forward_env = list(job["forward_env"])
    bundle.add_json("job.json", job)
    if plan_data is not None:
        bundle.add_json("plan.json", plan_data)
    bundle.files["resolved.yaml"] = dump_resolved(loaded)

    files = {str(f.path): f.sha256 for f in loaded.files}
    files.update(data_hashes)
    files.update(_input_file_hashes(loaded))
    bundle.add_json(
        "lock.json",
        {
            "recipe_sha256": bundle.recipe_hash,
            "rubric_sha256": rubric_hash,
            "files": files,
            "cluster_files": cluster_files,
            "sets": list(loaded.sets),
            "versions": {
                "polaris": __version__,
                "openrlhf_target": OPENRLHF_VERSION,
                "openrlhf_validated_with": _installed_openrlhf(),
                "python": platform.python_version(),
            },
            "git": _git_info(REPO_ROOT),
            "bundle_files": {
                rel: hashlib.sha256(text.encode("utf-8")).hexdigest() for rel, text in sorted(bundle.files.items())
            },
        },
    )
    bundle.summary.update(
        {
            "name": recipe.name,
            "model": recipe.model.policy,
            "gpus": f"{recipe.cluster.nodes} x {recipe.cluster.gpus_per_node} {recipe.cluster.gpu_type}",
            "judge": ", ".join(f"{m.model} @ {m.base_url}" for m in recipe.judge.members()),
            "recipe_sha256": bundle.recipe_hash,
            "reference_injection": recipe.reference_injection.enabled,
            "samples_per_prompt": recipe.grpo.samples_per_prompt,
            "cluster_data": [c.get("key") for c in cluster_files],
        }
    )
    return bundle


def _input_file_hashes(loaded: Any) -> dict[str, str]:
    """sha256 of the rubric file (built-in ones too) and of a chat-template file, by path."""
    from polaris.data import file_sha256
    from polaris.resolve import recipe_files
    from polaris.rubric import builtin_rubrics

    paths = [f.path for f in recipe_files(loaded) if f.role in ("rubric", "chat_template")]
    builtin = loaded.recipe.rubric.builtin
    if builtin is not None and builtin in builtin_rubrics():
        paths.append(builtin_rubrics()[builtin])
    return {str(p): file_sha256(p) for p in paths}


def _installed_openrlhf() -> str | None:
    from polaris.engine.openrlhf import installed_openrlhf_version

    return installed_openrlhf_version()
