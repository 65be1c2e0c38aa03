"""The ``data`` section: where prompts and human references come from and how rows are prepared."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ._base import Section

__all__ = [
    "DataConfig",
    "DataSource",
    "HubSource",
    "ReferenceSource",
    "FieldMap",
    "LengthInstruction",
    "DataFilters",
]

class HubSource(Section):
    """A Hugging Face `datasets` dataset, read on the cluster (never at compile time)."""

    name: str = Field(description="Dataset id on the hub, e.g. rishanthrajendhran/POLARIS.")
    split: str = Field(default="train", description="Split to read, e.g. train or test.")
    config: str | None = Field(default=None, description="Dataset configuration name, if the dataset has several.")
    revision: str | None = Field(
        default=None, description="Git revision (tag, branch or commit) to pin; null = the default branch."
    )


class DataSource(Section):
    """One table of rows: a local or cluster file (JSONL or Parquet) or a hub dataset."""

    path: str | None = Field(
        default=None,
        description="A .jsonl or .parquet file. Relative paths are relative to the recipe file that sets them.",
        json_schema_extra={"x-polaris-path": True},
    )
    hub: HubSource | None = Field(default=None, description="A Hugging Face hub dataset instead of a file.")
    format: Literal["auto", "jsonl", "parquet"] = Field(
        default="auto", description="File format; 'auto' decides by the file extension."
    )
    location: Literal["local", "cluster"] = Field(
        default="local",
        description="'local': the file is read, checked and hashed at compile time. 'cluster': the file "
        "exists only on the cluster; compile records it and the driver checks and hashes it at job start.",
    )

    @model_validator(mode="after")
    def validate_one_source(self) -> "DataSource":
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of 'path' or 'hub'")
        if self.path is not None and self.format == "auto" and not self.path.endswith((".jsonl", ".parquet", ".json")):
            raise ValueError(f"cannot tell the format of {self.path!r}: use .jsonl or .parquet, or set 'format'")
        return self


class ReferenceSource(Section):
    """A separate file of human reference stories (and reasoning traces), joined to prompts on the id.

    POLARIS's references are copyrighted and not distributed: each team points this at its own file.
    """

    path: str = Field(
        description="JSONL or Parquet file of references; relative paths are relative to the recipe file.",
        json_schema_extra={"x-polaris-path": True},
    )
    format: Literal["auto", "jsonl", "parquet"] = Field(
        default="auto", description="File format; 'auto' decides by the file extension."
    )
    location: Literal["local", "cluster"] = Field(
        default="local", description="Where the file lives; see data.train.location."
    )
    id_field: str = Field(default="id", description="Field holding the prompt id to join on.")
    story_field: str = Field(default="reference", description="Field holding the human story.")
    reasoning_field: str | None = Field(
        default=None, description="Field holding the gold reasoning trace (needed with thinking on)."
    )


class FieldMap(Section):
    """Which input fields hold what. POLARIS's prompt set uses uid / prompt / target_word_count."""

    id: str = Field(default="id", description="Unique row id (POLARIS: uid).")
    prompt: str = Field(default="prompt", description="The writing instruction.")
    target_words: str | None = Field(
        default="target_words",
        description="Structured target length in words (POLARIS: target_word_count). null = parse it from the prompt.",
    )
    reference: str | None = Field(
        default=None, description="Human reference story inside the prompt rows (if not in data.references)."
    )
    reasoning: str | None = Field(
        default=None, description="Gold reasoning trace inside the prompt rows (if not in data.references)."
    )


class LengthInstruction(Section):
    """How the length instruction reaches the policy, and how it is removed before judging."""

    mode: Literal["append", "keep", "none"] = Field(
        default="append",
        description="'append': add one of `templates` to each prompt; 'keep': the prompt already states the "
        "length (the templates are then used to find and strip it before judging); 'none': no instruction.",
    )
    templates: list[str] = Field(
        default_factory=lambda: [
            "Your story should be approximately {target_words} words long.",
            "Aim for about {target_words} words.",
            "The story should run to roughly {target_words} words.",
        ],
        min_length=1,
        description="Phrasings with a {target_words} placeholder; one is picked per row from the shuffle seed.",
    )
    number_format: Literal["comma", "plain"] = Field(
        default="comma", description="How the number is written: 'comma' = 12,000; 'plain' = 12000."
    )

    @model_validator(mode="after")
    def validate_placeholders(self) -> "LengthInstruction":
        bad = [t for t in self.templates if "{target_words}" not in t]
        if bad:
            raise ValueError(f"every template needs a {{target_words}} placeholder; missing in {bad[0]!r}")
        return self


class DataFilters(Section):
    """Row filters. Every dropped row is counted and reported, never silently lost."""

    min_target_words: int | None = Field(default=None, ge=1, description="Drop rows whose target is below this.")
    max_target_words: int | None = Field(default=None, ge=1, description="Drop rows whose target is above this.")
    overlong_references: Literal["drop", "error"] = Field(
        default="drop",
        description="Rows whose reference does not fit the response budget (grpo.max_new_tokens, counted with "
        "the policy tokenizer on the cluster): 'drop' them (counted and reported) or stop with an 'error'.",
    )
    missing_references: Literal["drop", "error"] = Field(
        default="error",
        description="Training rows with no reference while reference injection is on: 'drop' (reported) or 'error'.",
    )

    @model_validator(mode="after")
    def validate_range(self) -> "DataFilters":
        lo, hi = self.min_target_words, self.max_target_words
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_target_words ({lo}) is above max_target_words ({hi})")
        return self


class DataConfig(Section):
    """Training and evaluation data."""

    train: DataSource = Field(description="Training prompts.")
    eval: DataSource | None = Field(default=None, description="Evaluation prompts (no reference injection).")
    references: ReferenceSource | None = Field(
        default=None, description="Human references joined on the id (when they are not in the prompt rows)."
    )
    fields: FieldMap = Field(default_factory=FieldMap, description="Field names in the input rows.")
    length_instruction: LengthInstruction = Field(
        default_factory=LengthInstruction, description="How the target length is stated in the prompt."
    )
    filters: DataFilters = Field(default_factory=DataFilters, description="Row filters.")
    shuffle_seed: int = Field(default=3479, ge=0, lt=2**32, description="Seed for shuffling rows and picking instruction phrasings.")
    max_samples: int | None = Field(default=None, ge=1, description="Use at most this many training rows.")
    max_eval_samples: int | None = Field(default=None, ge=1, description="Use at most this many evaluation rows.")
