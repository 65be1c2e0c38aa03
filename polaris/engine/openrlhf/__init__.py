"""Everything OpenRLHF-specific (target release 0.11.2).

Importing this package imports nothing from OpenRLHF, torch, ray, vllm, deepspeed or transformers:
the validator reads OpenRLHF's source files by path (see `_validator`).

Public names (curated; add new modules' exports here):

* `build_argv(recipe) -> ArgvPlan` — the argv for a recipe, with the recipe field behind each flag.

* `validate_argv(argv) -> EngineResult` — run 0.11.2's own `__main__` block (parser, asserts,
  rewrites) on an argv; `EngineUnavailable` when openrlhf is not installed;
  `rewrite_flags(line)` — the flags behind one of its printed rewrites.
* `installed_openrlhf_version()`, `openrlhf_source_dir()`, `TARGET_VERSION`.
* `list_flags() -> dict[str, FlagInfo]`, `diff_against_snapshot()` — the installed parser's flags
  and their difference from the committed `flags_0_11_2.json`.
* `check_train_time(args, *, reward_range, prompt_tokens, model_id) -> list[TrainCheckProblem]` —
  the checks OpenRLHF only makes inside `train()` or at run time.
"""

from ._train_checks import TrainCheckProblem, check_train_time, is_qwen35
from ._validator import (
    TARGET_VERSION,
    EngineResult,
    EngineUnavailable,
    installed_openrlhf_version,
    namespace_to_dict,
    openrlhf_source_dir,
    rewrite_flags,
    validate_argv,
)

# `_flags` is imported on first use so `python -m polaris.engine.openrlhf._flags` does not find
# itself already imported by this package (runpy warns about that).
_LAZY = {"FlagInfo", "diff_against_snapshot", "list_flags"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from . import _flags

        return getattr(_flags, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArgvPlan",
    "BundlePaths",
    "build_argv",
    "TARGET_VERSION",
    "EngineResult",
    "EngineUnavailable",
    "FlagInfo",
    "TrainCheckProblem",
    "check_train_time",
    "diff_against_snapshot",
    "installed_openrlhf_version",
    "is_qwen35",
    "list_flags",
    "namespace_to_dict",
    "openrlhf_source_dir",
    "rewrite_flags",
    "validate_argv",
]
