"""`polaris schema [-o FILE]`: the JSON Schema of the recipe language."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(epilog="Example:\n\n  polaris schema -o schemas/recipe.schema.json")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
def command(output: str | None) -> None:
    """Print (or write) the recipe JSON Schema used by editors via the yaml-language-server modeline."""
    from polaris.api import recipe_json_schema

    text = recipe_json_schema()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
