"""`polaris run RECIPE`: compile into a new run directory, then launch on Ray (or stop at --dry-run)."""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from ._common import InvalidRecipe, load_or_fail, recipe_argument, set_option

EXIT_USAGE, EXIT_LAUNCH = 2, 4


class LaunchFailed(click.ClickException):
    """Submission or launch failed (exit code 4)."""

    exit_code = EXIT_LAUNCH

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def new_run_dir(run_root: str | Path, name: str, recipe_hash: str, now: _dt.datetime | None = None) -> Path:
    """`<run_root>/<name>-<hash8>-<UTC time>`; relative roots are relative to the current directory."""
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    base = (Path(run_root).expanduser() / f"{name}-{recipe_hash[:8]}-{stamp}").resolve()
    path, n = base, 1
    while path.exists():  # two runs in the same second never share a directory
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _summary_lines(summary: dict[str, Any], run_dir: Path, address: str | None, outputs: Path | None) -> list[str]:
    mem = summary.get("memory_per_gpu_gib")
    cap = summary.get("memory_capacity_gib")
    rows = [
        ("run dir", str(run_dir)),
        ("model", summary.get("model")),
        ("GPUs", summary.get("gpus")),
        ("judge", summary.get("judge")),
        ("recipe sha256", summary.get("recipe_sha256")),
        ("memory per GPU", f"{mem} GiB of {cap:.0f} GiB, {summary.get('memory_verdict', '?')} (plan.json)" if mem is not None and cap else "n/a"),
        ("reference injection", "on" if summary.get("reference_injection") else "off"),
        ("train rows", summary.get("train_rows", "prepared on the cluster")),
        ("Ray", address or "a local head on this machine"),
        ("driver outputs", outputs if outputs == run_dir else f"{outputs} (on the cluster's head node)"),
    ]
    return [f"  {k:<20} {v}" for k, v in rows]


@click.command(
    epilog="Examples:\n\n  polaris run recipes/polaris9b.yaml --dry-run\n\n"
    "  polaris run recipes/polaris9b.yaml --yes                       # 4 GPUs on this machine\n\n"
    "  polaris run recipes/polaris9b.yaml --address http://head:8265  # an existing Ray cluster\n\n"
    "Exit codes: 0 ok, 1 the job failed, 2 usage error, 3 invalid recipe, 4 launch failed, 130 stopped.",
)
@recipe_argument
@set_option
@click.option("--dry-run", is_flag=True, help="Compile the run directory and print the commands; launch nothing.")
@click.option("--address", default=None, metavar="RAY_ADDRESS",
              help="Ray dashboard of an existing cluster (http://HEAD:8265). Default: cluster.ray_address, "
              "else a local Ray head on this machine.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required when stdin is not a terminal).")
@click.option("--detach", is_flag=True, help="Submit and return; do not follow the job's logs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout (job id, run dir, recipe hash).")
def command(recipe: str, sets: tuple[str, ...], dry_run: bool, address: str | None, yes: bool, detach: bool,
            as_json: bool) -> None:
    """Compile RECIPE into runs/<name>-<hash8>-<time>/ and launch it on Ray."""
    from polaris.compile import compile_recipe, write_bundle
    from polaris.launch import driver_run_dir, remote_output_problems
    from polaris.recipe import RecipeError

    loaded = load_or_fail(recipe, sets, as_json=as_json)
    r = loaded.recipe
    address = address or r.cluster.ray_address
    # A remote cluster cannot write into this machine's run dir: refuse relative output paths (exit 3).
    problems = remote_output_problems(loaded, address)
    try:
        bundle = compile_recipe(loaded)
    except RecipeError as err:
        raise InvalidRecipe(RecipeError(err.problems + problems), as_json=as_json) from None
    if problems:
        raise InvalidRecipe(RecipeError(problems), as_json=as_json)
    run_dir = new_run_dir(r.output.run_root, r.name, bundle.recipe_hash)
    write_bundle(bundle, run_dir)
    outputs = driver_run_dir(run_dir, address, r.output.checkpoint_dir)
    ckpt = r.output.checkpoint_dir
    if r.cluster.nodes > 1 and not (ckpt and Path(ckpt).is_absolute()):
        bundle.notes.append(f"checkpoints go to {outputs}/{ckpt or 'checkpoints'}: with "
                            f"{r.cluster.nodes} nodes that must be shared storage at the same path on every node "
                            "(output.checkpoint_dir)")
    info: dict[str, Any] = {"run_dir": str(run_dir), "recipe_sha256": bundle.recipe_hash, "notes": bundle.notes,
                            "summary": bundle.summary, "address": address, "driver_run_dir": str(outputs)}
    say = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    if not as_json:
        for note in bundle.notes:
            click.echo(f"note: {note}", err=True)
        say(f"polaris run: {r.name}")
        for line in _summary_lines(bundle.summary, run_dir, address, outputs):
            say(line)

    if dry_run:
        from polaris.launch import equivalent_commands

        cmds = equivalent_commands(run_dir, address=address, num_gpus=r.cluster.gpus_per_node, run_dir=outputs)
        info["commands"] = cmds
        if as_json:
            click.echo(json.dumps(info, indent=2))
            return
        say("\nDry run: nothing launched. The equivalent commands:")
        if "ray_start" in cmds:
            say(f"\n# 1. a local Ray head (on the GPU node)\n{cmds['ray_start']}")
        say(f"\n# 2. submit the job (forwarded secrets are filled in from your environment by name)\n{cmds['job_submit']}")
        if "reward_service" in cmds:
            say(f"\n# the driver starts the reward service on the head node as\n{cmds['reward_service']}")
        return

    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("stdin is not a terminal, so polaris cannot ask for confirmation: pass --yes")
        if not click.confirm("Launch this run?", default=False, err=True):
            raise click.exceptions.Exit(1)

    from polaris.launch import LaunchError, launch

    try:
        result = launch(run_dir, address=address, follow=not detach, gpus_needed=r.cluster.gpus_per_node,
                        nodes=r.cluster.nodes, out=sys.stderr if as_json else sys.stdout, run_dir=outputs)
    except LaunchError as exc:
        raise LaunchFailed(str(exc)) from None
    info.update(result.to_dict())
    if as_json:
        click.echo(json.dumps(info, indent=2))
    elif result.message:
        click.echo(result.message, err=True)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)
