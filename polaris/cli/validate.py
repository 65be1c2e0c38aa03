"""`polaris validate RECIPE...`: schema, cross-field rules and local files; no GPU, no network."""

from __future__ import annotations

import json

import click

from ._common import EXIT_INVALID, set_option


@click.command(
    epilog="Examples:\n\n  polaris validate recipes/polaris9b.yaml\n\n"
    "  polaris validate recipes/*.yaml --json\n\n"
    "  polaris validate recipes/demo.yaml --set grpo.lr=2e-6",
)
@click.argument("recipes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of problems (file, line, col, path, message, hint).")
def command(recipes: tuple[str, ...], sets: tuple[str, ...], as_json: bool) -> None:
    """Validate one or more recipes; exit code 3 when any is invalid."""
    from polaris.api import validate_recipe

    problems = []
    for path in recipes:
        found = validate_recipe(path, list(sets))
        problems.extend(found)
        if not as_json:
            if found:
                for p in found:
                    click.echo(p.format(), err=True)
            else:
                click.echo(f"{path}: ok")
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in problems], indent=2))
    if problems:
        if not as_json:
            n = len(problems)
            click.echo(f"{n} problem{'s' if n != 1 else ''} found.", err=True)
        raise click.exceptions.Exit(EXIT_INVALID)
