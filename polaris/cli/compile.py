"""`polaris compile RECIPE -o DIR`: write the OpenRLHF job bundle (pure: no GPU, no network)."""

from __future__ import annotations

import json

import click

from ._common import InvalidRecipe, load_or_fail, recipe_argument, set_option


@click.command(
    epilog="Examples:\n\n  polaris compile recipes/polaris9b.yaml -o /tmp/polaris9b-job\n\n"
    "  polaris compile recipes/demo.yaml -o /tmp/demo --set grpo.lr=2e-6 --json",
)
@recipe_argument
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False), help="Bundle directory to write.")
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def command(recipe: str, output: str, sets: tuple[str, ...], as_json: bool) -> None:
    """Compile RECIPE into a job bundle in DIR, checked by OpenRLHF 0.11.2's own parser and asserts."""
    from polaris.compile import BundleDirNotEmpty, SecretLeak, compile_recipe, write_bundle
    from polaris.recipe import RecipeError

    loaded = load_or_fail(recipe, sets, as_json=as_json)
    try:
        bundle = compile_recipe(loaded)
    except RecipeError as err:
        raise InvalidRecipe(err, as_json=as_json) from None
    try:
        out = write_bundle(bundle, output)
    except (BundleDirNotEmpty, SecretLeak) as exc:
        raise click.UsageError(str(exc)) if isinstance(exc, BundleDirNotEmpty) else click.ClickException(str(exc))
    if as_json:
        click.echo(json.dumps({"bundle": str(out), "notes": bundle.notes, **bundle.summary}, indent=2))
        return
    for note in bundle.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {out} (recipe sha256 {bundle.recipe_hash[:12]}, {len(bundle.files)} files)")
