"""Shared options and error rendering for CLI commands."""

from __future__ import annotations

import json
from typing import Any

import click

EXIT_INVALID = 3


class InvalidRecipe(click.ClickException):
    """Raised by commands when a recipe does not validate (exit code 3)."""

    exit_code = EXIT_INVALID

    def __init__(self, error: Any, *, as_json: bool = False) -> None:
        self.error = error
        self.as_json = as_json
        super().__init__(error.format())

    def show(self, file: Any = None) -> None:
        if self.as_json:
            click.echo(json.dumps([p.to_dict() for p in self.error.problems], indent=2))
        else:
            click.echo(self.error.format(), err=True)
            n = len(self.error.problems)
            click.echo(f"{n} problem{'s' if n != 1 else ''} found.", err=True)


def set_option(func: Any) -> Any:
    """The repeatable `--set key.path=value` override (values are YAML 1.2 scalars)."""
    return click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a recipe value, e.g. --set grpo.lr=2e-6 (repeatable; YAML 1.2 values).",
    )(func)


def recipe_argument(func: Any) -> Any:
    return click.argument("recipe", type=click.Path(dir_okay=False))(func)


def load_or_fail(recipe: str, sets: tuple[str, ...] = (), *, as_json: bool = False) -> Any:
    """Load a recipe, turning a RecipeError into exit code 3 with every problem listed."""
    from polaris.recipe import RecipeError, load_recipe

    try:
        return load_recipe(recipe, list(sets))
    except RecipeError as err:
        raise InvalidRecipe(err, as_json=as_json) from None


class InvalidConfig(click.ClickException):
    """A reward-service configuration (run dir, reward_service.json or override) is invalid (exit 3)."""

    exit_code = EXIT_INVALID


def service_config_or_fail(
    source: str,
    *,
    judge_url: str | None = None,
    judge_model: str | None = None,
    concurrency: int | None = None,
    overrides: bool = True,
) -> Any:
    """The reward-service config of a recipe / run dir / reward_service.json, with CLI judge overrides.

    A bad recipe or config is exit 3 with every problem listed, never a traceback.
    """
    from polaris.recipe import RecipeError
    from polaris.service import ServiceConfigError, apply_judge_overrides, load_service_config

    try:
        cfg = load_service_config(source)
        if overrides:
            cfg = apply_judge_overrides(cfg, judge_url=judge_url, judge_model=judge_model, concurrency=concurrency)
    except RecipeError as err:
        raise InvalidRecipe(err) from None
    except ServiceConfigError as err:
        raise InvalidConfig(str(err)) from None
    return cfg
