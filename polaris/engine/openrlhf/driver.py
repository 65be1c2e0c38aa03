"""The polaris driver: the Ray job entrypoint on the head node.

    python -m polaris.engine.openrlhf.driver --bundle . --run-dir /abs/run/dir
    (cwd = the job's working dir = Ray's copy of the bundle)

Steps, each a function of its own: read driver.json; load and prepare data (cluster files and hub
datasets are prepared here with `polaris.data`, as the compiler does for local files); render
prompts with the policy tokenizer's chat template and drop over-long prompts and references
(counted); write data/*.rendered.jsonl and run_lock.json; start the reward service and wait for
/healthz; connect to Ray with the run's runtime env; run OpenRLHF's train_ppo_ray as __main__;
stop the reward service at the end, on errors and on SIGTERM.

Outputs (run_lock.json, a copy of the rendered data, the reward state, relative checkpoint and
TensorBoard paths of the argv) go to --run-dir, which `polaris run` passes at launch time; without
it they go to the bundle (in a Ray job: Ray's temporary copy, and the driver says so).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._driver_data import DriverError, LoadedData, load_data, load_json
from ._driver_outputs import prepare_out_dir, resolve_output_argv, wandb_dir
from ._driver_ray import build_runtime_env, in_ray_job, init_ray, run_train_module
from ._driver_render import load_renderer, render_split, write_rendered
from ._driver_service import RewardService, ensure_token, reward_service_command, state_dir

__all__ = ["DriverError", "PreparedRun", "prepare_run", "start_reward_service", "run_driver", "main",
           "DEFAULT_TRAIN_MODULE"]

DEFAULT_TRAIN_MODULE = "openrlhf.cli.train_ppo_ray"
RUN_LOCK = "run_lock.json"


def _say(msg: str) -> None:
    print(f"[polaris driver] {msg}", flush=True)


@dataclass
class PreparedRun:
    """What `prepare_run` produced: rendered row counts, drop counts, and the run lock written."""

    rows: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    lock: dict[str, Any] = field(default_factory=dict)


def _merge_drops(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in parts:
        for reason, ids in part.items():
            out.setdefault(reason, []).extend(ids)
    return out


def prepare_run(bundle: Path, cfg: dict[str, Any], *, out_dir: Path | None = None,
                outputs: dict[str, Any] | None = None) -> PreparedRun:
    """Load, prepare, render and length-check every split; write the rendered files and run_lock.json.

    The rendered files go to the bundle (Ray uploads it to the workers) and, when `out_dir` is
    another directory, are copied there; run_lock.json (with `outputs`) goes to `out_dir`.
    """
    out_dir = bundle if out_dir is None else out_dir
    data: LoadedData = load_data(bundle, cfg)
    renderer = load_renderer(cfg["model"], bundle)
    rendered_paths = cfg.get("rendered") or {"train": "data/train.rendered.jsonl", "eval": "data/eval.rendered.jsonl"}
    spec_flags = cfg.get("row_spec") or {}
    overlong = cfg.get("overlong_references") or spec_flags.get("overlong_references") or \
        (cfg.get("filters") or {}).get("overlong_references", "drop")
    hri = bool(cfg.get("hri_enabled", spec_flags.get("hri_enabled", False)))
    result = PreparedRun()
    rendered_lock: dict[str, Any] = {}
    for split, prepared in data.splits.items():
        for line in prepared.report(split):
            _say(line)
        out = render_split(
            renderer, prepared.rows, split=split,
            max_prompt_tokens=int(cfg["max_prompt_tokens"]), max_new_tokens=int(cfg["max_new_tokens"]),
            check_references=split == "train" and hri, overlong_references=overlong,
        )
        for reason, ids in sorted(out.dropped.items()):
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            _say(f"{split}: dropped {len(ids)} row(s): {reason} (ids: {shown})")
        if split == "train" and not out.rows:
            raise DriverError("no training rows are left after preparation and length checks; see the drops above")
        rel = rendered_paths[split]
        digest = write_rendered(bundle / rel, out.rows)
        if out_dir != bundle:
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle / rel, out_dir / rel)
        _say(f"{split}: wrote {len(out.rows)} rendered prompt(s) to {rel} (longest prompt {out.longest_prompt} tokens)")
        result.rows[split] = len(out.rows)
        result.dropped[split] = _merge_drops(prepared.dropped, out.dropped)
        rendered_lock[split] = {"path": rel, "sha256": digest, "rows": len(out.rows), "read": prepared.total,
                                "longest_prompt_tokens": out.longest_prompt, **({"stats": prepared.stats} if prepared.stats else {})}
    result.lock = {
        "written_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": data.sources,
        "rendered": rendered_lock,
        "dropped": {s: {r: len(ids) for r, ids in sorted(d.items())} for s, d in result.dropped.items()},
        "dropped_ids": {s: {r: ids for r, ids in sorted(d.items())} for s, d in result.dropped.items()},
        "tokenizer": {"policy": cfg["model"]["policy"], "chat_template": renderer.mode,
                      "template_sha256": renderer.template_sha256, "thinking": renderer.thinking,
                      "class": type(renderer.tokenizer).__name__},
        "versions": _versions(),
        "outputs": {"run_dir": str(out_dir), **(outputs or {})},
    }
    (out_dir / RUN_LOCK).write_text(json.dumps(result.lock, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("polaris-storyrl", "openrlhf", "ray", "transformers", "vllm", "deepspeed", "torch"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def start_reward_service(bundle: Path, cfg: dict[str, Any], environ: dict[str, str],
                         out_dir: Path | None = None) -> RewardService:
    """Start the reward service from driver.json `reward_service` and wait until /healthz answers."""
    svc_cfg = cfg.get("reward_service") or {}
    ensure_token(svc_cfg, environ)
    svc = RewardService(
        reward_service_command(svc_cfg, bundle, out_dir=out_dir), int(svc_cfg.get("port", 8731)), cwd=bundle,
        env=dict(environ),
        startup_timeout_s=float(svc_cfg.get("startup_timeout_s", 180)),
    )
    _say(f"starting the reward service on port {svc.port}")
    svc.start()
    svc.wait_healthy()
    _say(f"reward service healthy at {svc.url}")
    return svc


def _service_url(cfg: dict[str, Any]) -> str:
    svc = cfg.get("reward_service") or {}
    port = int(svc.get("port", 8731))
    if svc.get("bind", "127.0.0.1") in ("127.0.0.1", "localhost"):
        return f"http://127.0.0.1:{port}"
    import ray.util  # the head's address, reachable from workers on other nodes

    return f"http://{ray.util.get_node_ip_address()}:{port}"


def _output_plan(bundle: Path, run_dir: Path | None, cfg: dict[str, Any], *, need_argv: bool = True,
                 holds_bundle: bool = False) -> tuple[Path, list[str], dict[str, Any]]:
    """The output dir, the argv with output paths under it, and what goes where (said and locked).
    The argv file may be absent only when nothing will be trained (``--prepare-only``)."""
    out_dir = prepare_out_dir(run_dir, bundle, holds_bundle=holds_bundle)
    if run_dir is None and in_ray_job():
        _say(f"warning: no --run-dir: outputs go to {out_dir}, Ray's temporary copy of the working dir, which is "
             "not the run directory and may be deleted; launch with `polaris run` (it passes --run-dir)")
    argv_path = bundle / "openrlhf_argv.json"
    argv = load_json(argv_path) if need_argv or argv_path.is_file() else []
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise DriverError(f"{argv_path}: expected a JSON list of strings")
    # absolute checkpoint dirs get a directory per run, named like the run directory
    argv, paths = resolve_output_argv(argv, out_dir, run_dir.name if run_dir is not None else None)
    outputs = {"run_lock": str(out_dir / RUN_LOCK),
               "reward_state": str(state_dir(cfg.get("reward_service") or {}, out_dir)), "argv_paths": paths}
    wandb = wandb_dir(argv, out_dir, dict(os.environ))
    if wandb is not None:
        outputs["wandb_dir"] = wandb
    _say(f"outputs: {out_dir} (run_lock.json, reward state {outputs['reward_state']})")
    for flag, path in paths.items():
        _say(f"outputs: {flag} {path}")
    if wandb is not None:
        _say(f"outputs: W&B local files under {wandb}/wandb (WANDB_DIR)")
    return out_dir, argv, outputs


def run_driver(bundle: Path, *, train_module: str = DEFAULT_TRAIN_MODULE, use_ray: bool = True,
               prepare_only: bool = False, run_dir: Path | None = None, run_dir_holds_bundle: bool = False) -> int:
    """All steps; returns the process exit code. Outputs go to `run_dir` (default: the bundle)."""
    bundle = bundle.resolve()
    cfg = load_json(bundle / "driver.json")
    out_dir, argv, outputs = _output_plan(bundle, run_dir, cfg, need_argv=not prepare_only,
                                          holds_bundle=run_dir_holds_bundle)
    prepare_run(bundle, cfg, out_dir=out_dir, outputs=outputs)
    if prepare_only:
        return 0
    job = load_json(bundle / "job.json") if (bundle / "job.json").is_file() else {}
    environ = os.environ
    service = start_reward_service(bundle, cfg, environ, out_dir=out_dir)
    try:
        if use_ray:
            svc_cfg = cfg.get("reward_service") or {}
            extra = {"POLARIS_REWARD_SERVICE_URL": _service_url(cfg)}
            if outputs.get("wandb_dir"):
                extra["WANDB_DIR"] = outputs["wandb_dir"]
            if svc_cfg.get("token_env"):
                extra[svc_cfg["token_env"]] = environ[svc_cfg["token_env"]]
            where = init_ray(build_runtime_env(bundle, cfg, job, dict(environ), extra_env=extra))
            _say(f"connected to Ray ({where})")
        _say(f"running {train_module} with {len(argv)} argument(s)")
        code = run_train_module(train_module, argv)
        _say(f"{train_module} finished with exit code {code}")
        return code
    finally:
        rc = service.stop()
        _say(f"reward service stopped (exit code {rc})")


def _on_sigterm(signum: int, frame: Any) -> None:
    # Unwind through the finally blocks so the reward service is stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polaris.engine.openrlhf.driver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=".", help="The job bundle directory (default: the current directory).")
    parser.add_argument("--train-module", default=DEFAULT_TRAIN_MODULE,
                        help="Module run as __main__ for training (default: %(default)s).")
    parser.add_argument("--no-ray", action="store_true", help="Do not call ray.init (the train module does it).")
    parser.add_argument("--prepare-only", action="store_true",
                        help="Stop after writing the rendered data and run_lock.json.")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="Absolute directory for run_lock.json, the reward state and relative checkpoint/"
                        "TensorBoard paths (default: the bundle). `polaris run` passes it.")
    parser.add_argument("--run-dir-holds-bundle", action="store_true",
                        help="--run-dir is where `polaris run` wrote this bundle: it must be visible here "
                        "(an identical lock.json), else the job stops. `polaris run` passes it for Ray on its machine.")
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run_driver(Path(args.bundle), train_module=args.train_module, use_ray=not args.no_ray,
                          prepare_only=args.prepare_only, run_dir=args.run_dir,
                          run_dir_holds_bundle=args.run_dir_holds_bundle)
    except DriverError as exc:
        print(f"[polaris driver] error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
