"""`polaris show RECIPE`: the recipe as resolved, or where one key's value came from."""

from __future__ import annotations

import json

import click

from ._common import load_or_fail, recipe_argument, set_option


def key_line(entries: list) -> str:
    return entries[-1]["source"] if entries else "no source"


@click.command(
    epilog="Examples:\n\n  polaris show recipes/polaris9b-no-hri.yaml --resolved\n\n"
    "  polaris show recipes/polaris9b-no-hri.yaml --explain reference_injection.enabled\n\n"
    "  polaris show recipes/demo.yaml --set grpo.lr=2e-6 --explain grpo.lr --json",
)
@recipe_argument
@set_option
@click.option("--resolved", is_flag=True, help="Print every value, defaults included (otherwise only what files and --set gave).")
@click.option("--explain", "explain_key", metavar="KEY", help="Show every source of KEY in precedence order.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML/text.")
def command(recipe: str, sets: tuple[str, ...], resolved: bool, explain_key: str | None, as_json: bool) -> None:
    """Print RECIPE after extends and --set, validated."""
    from polaris.api import explain, show_text

    loaded = load_or_fail(recipe, sets, as_json=as_json)
    if explain_key:
        try:
            entries = explain(loaded, explain_key)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--explain") from None
        if as_json:
            click.echo(json.dumps(entries, indent=2))
        else:
            for entry in entries:
                click.echo(f"{entry['kind']:<8}{entry['source']:<44} {entry['value']}")
            click.echo(f"(last wins: {key_line(entries)})")
        return
    click.echo(show_text(loaded, resolved=resolved, as_json=as_json), nl=False)
