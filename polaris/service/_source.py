"""Where the service configuration comes from: a run dir / ``reward_service.json``, or a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from polaris.schema.judge import JudgeBackend, JudgeConfig
from polaris.service._config import SERVICE_CONFIG_NAME, ServiceConfig, ServiceConfigError

__all__ = ["load_service_config", "apply_judge_overrides"]


def load_service_config(source: str | Path) -> ServiceConfig:
    """A run directory (holding ``reward_service.json``), that JSON file, or a recipe YAML.

    Raises :class:`ServiceConfigError` for a missing/invalid service file, and lets
    ``polaris.recipe.RecipeError`` through for an invalid recipe (the CLI maps it to exit 3).
    """
    p = Path(source)
    if p.is_dir() or p.suffix == ".json":
        if p.is_dir() and not (p / SERVICE_CONFIG_NAME).is_file():
            raise ServiceConfigError(f"{p}: directory has no {SERVICE_CONFIG_NAME} (compile the recipe first, "
                                     "or pass the recipe file)")
        return ServiceConfig.load(p)
    if not p.exists():
        raise ServiceConfigError(f"{p}: no such file or directory")
    from polaris.recipe import load_recipe
    from polaris.resolve import rubric_ref

    loaded = load_recipe(str(p))
    return ServiceConfig.from_recipe(loaded.recipe, rubric_ref=rubric_ref(loaded))


def apply_judge_overrides(
    cfg: ServiceConfig,
    *,
    judge_url: str | None = None,
    judge_model: str | None = None,
    concurrency: int | None = None,
    api_key_env: str | None = None,
) -> ServiceConfig:
    """Replace the judge endpoint/model/concurrency from command-line options (validated like the recipe)."""
    if judge_url is None and judge_model is None and concurrency is None and api_key_env is None:
        return cfg
    judge = cfg.judge
    if judge is None:
        if judge_model is None:
            raise ServiceConfigError("the configuration has no judge: give --judge-model (and --judge-url)")
        judge = JudgeConfig(backend=JudgeBackend(model=judge_model))
    data: dict[str, Any] = judge.model_dump()
    if judge_url is not None or judge_model is not None or api_key_env is not None:
        if data.get("panel") is not None:
            raise ServiceConfigError("--judge-url/--judge-model replace a single backend, but the judge is a panel")
        backend = dict(data["backend"])
        if judge_url is not None:
            backend["base_url"] = judge_url
        if judge_model is not None:
            backend["model"] = judge_model
        if api_key_env is not None:
            backend["api_key_env"] = api_key_env
        data["backend"] = backend
    if concurrency is not None:
        data["concurrency"] = concurrency
    try:
        new_judge = JudgeConfig.model_validate(data)
    except ValidationError as e:
        details = "; ".join(
            f"judge.{'.'.join(map(str, x['loc']))}: {x['msg'].removeprefix('Value error, ')}".replace("judge.:", "judge:")
            for x in e.errors(include_url=False)
        )
        raise ServiceConfigError(f"invalid judge override: {details}") from None
    return cfg.model_copy(update={"judge": new_judge})
