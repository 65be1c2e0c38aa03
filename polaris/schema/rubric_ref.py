"""The ``rubric`` section of a recipe: which rubric file the judge scores against."""

from __future__ import annotations

from pydantic import Field, model_validator

from ._base import Section

__all__ = ["RubricRef"]


class RubricRef(Section):
    """A built-in rubric by name, or a rubric YAML file (see recipes/rubrics/)."""

    builtin: str | None = Field(
        default=None,
        description="Name of a shipped rubric: a file stem under recipes/rubrics/ "
        "(polaris-story-quality, story-craft-9).",
    )
    path: str | None = Field(
        default=None,
        description="Path to a rubric YAML file; relative paths are relative to the recipe file that sets it.",
        json_schema_extra={"x-polaris-path": True},
    )

    @model_validator(mode="after")
    def validate_one_source(self) -> "RubricRef":
        if (self.builtin is None) == (self.path is None):
            raise ValueError("give exactly one of 'builtin' or 'path'")
        return self

    def ref(self) -> str:
        """The string `polaris.rubric.load_rubric` accepts."""
        return self.builtin if self.builtin is not None else str(self.path)
