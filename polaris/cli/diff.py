"""`polaris diff A B`: which resolved values differ between two recipes."""

from __future__ import annotations

import json

import click

from ._common import load_or_fail, set_option


@click.command(epilog="Example:\n\n  polaris diff recipes/polaris9b.yaml recipes/polaris9b-no-hri.yaml")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {path, a, b}.")
def command(a: str, b: str, sets: tuple[str, ...], as_json: bool) -> None:
    """Compare the resolved recipes A and B (--set applies to both). Exit 0 whether or not they differ."""
    from polaris.recipe import diff_recipes

    rows = diff_recipes(load_or_fail(a, sets, as_json=as_json), load_or_fail(b, sets, as_json=as_json))
    if as_json:
        click.echo(json.dumps([{"path": p, "a": x, "b": y} for p, x, y in rows], indent=2))
        return
    if not rows:
        click.echo("no differences")
        return
    width = max(len(p) for p, _, _ in rows)
    for path, x, y in rows:
        click.echo(f"{path:<{width}}  {json.dumps(x)}  ->  {json.dumps(y)}")
