"""`RowSpec`: everything row preparation needs from a recipe, as a small serialisable value.

The compiler builds it from the recipe (`RowSpec.from_recipe`) and writes `to_dict()` into
driver.json; the driver rebuilds it with `RowSpec.from_dict` on the cluster, so local files (at
compile time) and cluster files (at job start) are prepared by the same code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ._read import DataError

__all__ = ["RowSpec", "DEFAULT_TEMPLATES"]

DEFAULT_TEMPLATES = ("Your story should be approximately {target_words} words long.",)


@dataclass(frozen=True)
class RowSpec:
    """How raw rows become prepared rows (see `prepare_rows`)."""

    id_field: str = "id"
    prompt_field: str = "prompt"
    target_field: str | None = "target_words"
    reference_field: str | None = None
    reasoning_field: str | None = None
    # Field names inside a separate references table (data.references), if any.
    ref_id_field: str | None = None
    ref_story_field: str | None = None
    ref_reasoning_field: str | None = None
    length_mode: str = "append"
    templates: tuple[str, ...] = DEFAULT_TEMPLATES
    number_format: str = "comma"
    min_target_words: int | None = None
    max_target_words: int | None = None
    missing_references: str = "error"
    overlong_references: str = "drop"
    shuffle_seed: int = 3479
    max_samples: int | None = None
    max_eval_samples: int | None = None
    hri_enabled: bool = False
    require_reasoning_trace: bool = False
    thinking: bool = False
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        if self.length_mode not in ("append", "keep", "none"):
            raise DataError(f"row spec: length_mode must be append, keep or none, not {self.length_mode!r}")
        if self.number_format not in ("comma", "plain"):
            raise DataError(f"row spec: number_format must be comma or plain, not {self.number_format!r}")
        for name in ("missing_references", "overlong_references"):
            if getattr(self, name) not in ("drop", "error"):
                raise DataError(f"row spec: {name} must be drop or error, not {getattr(self, name)!r}")
        if not self.templates or any("{target_words" not in t for t in self.templates):
            raise DataError("row spec: every length template needs a {target_words} placeholder")
        object.__setattr__(self, "templates", tuple(self.templates))

    @property
    def has_reference_source(self) -> bool:
        """True when references can be found here: a field of the rows or a joined table."""
        return self.reference_field is not None or self.ref_id_field is not None

    @classmethod
    def from_recipe(cls, recipe: Any) -> "RowSpec":
        """Build from a validated `polaris.schema.Recipe` (duck-typed: only attributes are read)."""
        data, model, hri = recipe.data, recipe.model, recipe.reference_injection
        refs = data.references
        li, flt, fm = data.length_instruction, data.filters, data.fields
        return cls(
            id_field=fm.id,
            prompt_field=fm.prompt,
            target_field=fm.target_words,
            reference_field=fm.reference,
            reasoning_field=fm.reasoning,
            ref_id_field=refs.id_field if refs is not None else None,
            ref_story_field=refs.story_field if refs is not None else None,
            ref_reasoning_field=refs.reasoning_field if refs is not None else None,
            length_mode=li.mode,
            templates=tuple(li.templates),
            number_format=li.number_format,
            min_target_words=flt.min_target_words,
            max_target_words=flt.max_target_words,
            missing_references=flt.missing_references,
            overlong_references=flt.overlong_references,
            shuffle_seed=data.shuffle_seed,
            max_samples=data.max_samples,
            max_eval_samples=data.max_eval_samples,
            hri_enabled=hri.enabled,
            require_reasoning_trace=hri.derive_require_reasoning_trace(model.thinking) if hri.enabled else False,
            thinking=model.thinking,
            system_prompt=model.system_prompt,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the `row_spec` entry of driver.json)."""
        out = asdict(self)
        out["templates"] = list(self.templates)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RowSpec":
        """Inverse of `to_dict`; unknown keys are an error (a newer compiler than this driver)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(f"row spec: unknown key(s) {unknown}; was the bundle compiled by a newer polaris?")
        kwargs = dict(data)
        if "templates" in kwargs:
            kwargs["templates"] = tuple(kwargs["templates"])
        return cls(**kwargs)
