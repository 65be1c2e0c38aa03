"""`polaris plan RECIPE`: memory per GPU for the recipe's layout, with a verdict per GPU type."""

from __future__ import annotations

import json

import click

from ._common import load_or_fail, recipe_argument, set_option


@click.command(
    epilog="Examples:\n\n  polaris plan recipes/polaris9b.yaml\n\n"
    "  polaris plan recipes/polaris9b.yaml --set cluster.vllm.gpu_memory_utilization=0.7 --json",
)
@recipe_argument
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def command(recipe: str, sets: tuple[str, ...], as_json: bool) -> None:
    """Per-GPU memory (weights, optimizer, gradients, activations, logits, vLLM, reference) and a verdict."""
    from polaris.compile import plan_input
    from polaris.compile._layout import recipe_change
    from polaris.plan import plan_memory, render_plan

    loaded = load_or_fail(recipe, sets, as_json=as_json)
    try:
        report = plan_memory(plan_input(loaded.recipe))
    except ValueError as exc:
        raise click.ClickException(f"cannot plan memory: {exc} (set model.params_b)") from None
    if as_json:
        data = report.to_dict()
        for plan in data.get("per_gpu_type", {}).values():
            for s in plan.get("suggestions", []):
                s["recipe_change"] = recipe_change(s["knob"], s["change"])
        click.echo(json.dumps({"gpu_type": loaded.recipe.cluster.gpu_type, **data}, indent=2))
    else:
        click.echo(f"recipe gpu_type: {loaded.recipe.cluster.gpu_type}")
        click.echo(render_plan(report, describe=lambda s: recipe_change(s.knob, s.change)))
