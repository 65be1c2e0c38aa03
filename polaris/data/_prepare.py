"""Row preparation: raw prompt rows -> `{"id", "messages", "label"}` rows, every dropped row counted.

Pure (no I/O beyond what the caller passes in); the compiler runs it on local files, the driver on
cluster files and hub datasets, so both produce identical rows for identical input.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ._read import DataError
from ._spec import RowSpec

__all__ = ["RowError", "Reference", "PreparedRows", "prepare_rows", "load_references", "attach_references",
           "pick_template", "fill_template"]

# Drop reasons (keys of PreparedRows.dropped).
NO_TARGET = "no_target_words"
BELOW_MIN = "target_below_min"
ABOVE_MAX = "target_above_max"
MISSING_REFERENCE = "missing_reference"
MISSING_REASONING = "missing_reasoning"
MAX_SAMPLES = "max_samples"


class RowError(DataError):
    """A row that cannot be prepared (no id, no prompt, bad target, duplicate id, missing reference)."""


@dataclass(frozen=True)
class Reference:
    """A human reference story and its optional gold reasoning trace."""

    story: str | None
    reasoning: str | None = None


@dataclass
class PreparedRows:
    """The result of preparation: kept rows in input order and dropped row ids by reason."""

    rows: list[dict[str, Any]]
    dropped: dict[str, list[str]] = field(default_factory=dict)
    total: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def dropped_counts(self) -> dict[str, int]:
        return {reason: len(ids) for reason, ids in sorted(self.dropped.items())}

    def report(self, label: str) -> list[str]:
        """Human-readable lines: kept/total, then one line per drop reason with the first ids."""
        lines = [f"{label}: kept {len(self.rows)} of {self.total} row(s)"]
        for reason, ids in sorted(self.dropped.items()):
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            lines.append(f"{label}: dropped {len(ids)} row(s): {reason} (ids: {shown})")
        for key, n in sorted(self.stats.items()):
            lines.append(f"{label}: {key}: {n}")
        return lines


def _text_tools() -> Any:
    # The reward package owns target parsing and length-sentence removal; import it only when used.
    try:
        import polaris.reward as mod

        mod.parse_target_words  # noqa: B018 - probe the name
    except (ImportError, AttributeError):
        try:
            from polaris.reward import _words as mod
        except ImportError:  # pragma: no cover - packaging error
            raise DataError("polaris.reward is not available: cannot parse or strip length instructions") from None
    return mod


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce_target(value: Any, where: str, field_name: str) -> int:
    if isinstance(value, bool):
        raise RowError(f"{where}: {field_name} must be a number of words, got {value!r}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,3}(?:,\d{3})+\s*|\s*\d+\s*", value):
        n = int(value.replace(",", ""))
    else:
        raise RowError(f"{where}: {field_name} must be a whole number of words, got {value!r}")
    if n <= 0:
        raise RowError(f"{where}: {field_name} must be positive, got {n}")
    return n


def pick_template(templates: tuple[str, ...] | list[str], row_id: str, seed: int) -> str:
    """The phrasing for one row: a hash of (seed, id), so it does not depend on row order."""
    digest = hashlib.sha256(f"{seed}:{row_id}".encode("utf-8")).hexdigest()
    return templates[int(digest, 16) % len(templates)]


_PLACEHOLDER = re.compile(r"\{target_words(?::([^}]*))?\}")


def fill_template(template: str, target_words: int, number_format: str = "comma") -> str:
    """Fill ``{target_words}`` (``comma`` → 2,500, ``plain`` → 2500); ``{target_words:,}`` keeps its own spec."""
    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return format(target_words, m.group(1))
        return f"{target_words:,}" if number_format == "comma" else str(target_words)

    return _PLACEHOLDER.sub(repl, template)


def load_references(
    raw: Iterable[Any], spec: RowSpec, *, source: str = "<references>"
) -> dict[str, Reference]:
    """Index a references table by id; a row without an id or a duplicate id is an error."""
    id_f = spec.ref_id_field or "id"
    story_f = spec.ref_story_field or "reference"
    out: dict[str, Reference] = {}
    for n, item in enumerate(raw, 1):
        lineno, row = item if isinstance(item, tuple) else (n, item)
        where = f"{source}:{lineno}"
        if _blank(row.get(id_f)):
            raise RowError(f"{where}: no '{id_f}' field (data.references.id_field)")
        rid = str(row[id_f])
        if rid in out:
            raise RowError(f"{where}: duplicate reference id {rid!r}")
        story = row.get(story_f)
        reasoning = row.get(spec.ref_reasoning_field) if spec.ref_reasoning_field else None
        out[rid] = Reference(None if _blank(story) else str(story), None if _blank(reasoning) else str(reasoning))
    return out


def _as_reference_map(references: Any, spec: RowSpec) -> dict[str, Reference] | None:
    if references is None or isinstance(references, Mapping):
        return references  # type: ignore[return-value]
    return load_references(references, spec)


def _reference_problem(row_id: str, ref: str | None, reasoning: str | None, spec: RowSpec, where: str) -> str | None:
    """Apply data.filters.missing_references: None = keep, a reason = drop; raise in 'error' mode."""
    reason = None
    if ref is None:
        reason, what = MISSING_REFERENCE, "has no human reference"
    elif spec.require_reasoning_trace and reasoning is None:
        reason, what = MISSING_REASONING, "has a reference but no gold reasoning trace (thinking is on)"
    if reason is not None and spec.missing_references == "error":
        raise RowError(
            f"{where}: training row {row_id!r} {what}; reference injection needs one for every training row "
            "(set data.filters.missing_references: drop to drop such rows, reported)"
        )
    return reason


def prepare_rows(
    raw_rows: Iterable[Any],
    spec: RowSpec,
    *,
    split: str,
    references: Any = None,
    source: str = "<rows>",
) -> PreparedRows:
    """Prepare raw rows (dicts, or ``(line, dict)`` pairs from `read_table`) for one split.

    ``references`` is a references table (raw rows or `load_references`' map) joined on the id, or None.
    Training references are checked here only when a reference source is available here (a row field
    or ``references``); otherwise the check is deferred to `attach_references` on the cluster.
    Raises `RowError` (located ``source:line``) for rows that are wrong rather than filtered.
    """
    ref_map = _as_reference_map(references, spec)
    use_refs = split == "train" and spec.hri_enabled
    check_refs = use_refs and (spec.reference_field is not None or ref_map is not None)
    result = PreparedRows(rows=[])
    seen: set[str] = set()
    matched: set[str] = set()
    for n, item in enumerate(raw_rows, 1):
        lineno, row = item if isinstance(item, tuple) else (n, item)
        where = f"{source}:{lineno}"
        result.total += 1
        if not isinstance(row, Mapping):
            raise RowError(f"{where}: expected a row object, got {type(row).__name__}")
        if _blank(row.get(spec.id_field)):
            raise RowError(f"{where}: no '{spec.id_field}' field (data.fields.id)")
        row_id = str(row[spec.id_field])
        if row_id in seen:
            raise RowError(f"{where}: duplicate id {row_id!r}")
        seen.add(row_id)
        prompt = row.get(spec.prompt_field)
        if _blank(prompt) or not isinstance(prompt, str):
            raise RowError(f"{where}: row {row_id!r} has no text in '{spec.prompt_field}' (data.fields.prompt)")

        raw_target = row.get(spec.target_field) if spec.target_field else None
        if raw_target is not None:
            target: int | None = _coerce_target(raw_target, where, spec.target_field or "")
        else:
            target = _text_tools().parse_target_words(prompt)
        if target is None:
            result.dropped.setdefault(NO_TARGET, []).append(row_id)
            continue
        if spec.min_target_words is not None and target < spec.min_target_words:
            result.dropped.setdefault(BELOW_MIN, []).append(row_id)
            continue
        if spec.max_target_words is not None and target > spec.max_target_words:
            result.dropped.setdefault(ABOVE_MAX, []).append(row_id)
            continue

        ref = reasoning = None
        if use_refs:
            if spec.reference_field is not None and not _blank(row.get(spec.reference_field)):
                ref = str(row[spec.reference_field])
            if spec.reasoning_field is not None and not _blank(row.get(spec.reasoning_field)):
                reasoning = str(row[spec.reasoning_field])
            if ref_map is not None and row_id in ref_map:
                matched.add(row_id)
                joined = ref_map[row_id]
                ref = ref if ref is not None else joined.story
                reasoning = reasoning if reasoning is not None else joined.reasoning
            if check_refs:
                reason = _reference_problem(row_id, ref, reasoning, spec, where)
                if reason is not None:
                    result.dropped.setdefault(reason, []).append(row_id)
                    continue
        result.rows.append(_make_row(row_id, prompt, target, ref, reasoning, spec, split))

    if ref_map is not None and use_refs:
        result.stats["unused_references"] = len(set(ref_map) - matched)
    limit = spec.max_samples if split == "train" else spec.max_eval_samples
    _apply_limit(result, limit, spec.shuffle_seed)
    return result


def _make_row(
    row_id: str, prompt: str, target: int, ref: str | None, reasoning: str | None, spec: RowSpec, split: str
) -> dict[str, Any]:
    text = prompt.strip()
    if spec.length_mode == "append":
        sentence = fill_template(pick_template(spec.templates, row_id, spec.shuffle_seed), target, spec.number_format)
        user = f"{text} {sentence}"
        judge_prompt = text
    elif spec.length_mode == "keep":
        user = text
        judge_prompt = _text_tools().strip_length_instruction(text, list(spec.templates))
    else:
        user = judge_prompt = text
    messages = [{"role": "system", "content": spec.system_prompt}] if spec.system_prompt else []
    messages.append({"role": "user", "content": user})
    label = {"id": row_id, "target_words": target, "split": split, "judge_prompt": judge_prompt,
             "reference": ref if split == "train" else None,
             "reasoning": reasoning if split == "train" else None}
    return {"id": row_id, "messages": messages, "label": label}


def _apply_limit(result: PreparedRows, limit: int | None, seed: int) -> None:
    if limit is None or len(result.rows) <= limit:
        return
    # A seeded sample keeps the subset reproducible; sorting keeps the file order for reading.
    keep = sorted(random.Random(seed).sample(range(len(result.rows)), limit))
    kept_set = set(keep)
    result.dropped.setdefault(MAX_SAMPLES, []).extend(
        r["id"] for i, r in enumerate(result.rows) if i not in kept_set
    )
    result.rows = [result.rows[i] for i in keep]


def attach_references(
    rows: list[dict[str, Any]], references: Any, spec: RowSpec, *, source: str = "<prepared rows>"
) -> PreparedRows:
    """Join a references table into already prepared training rows and apply the missing-reference rule.

    Used by the driver when the prompts were prepared at compile time but the references live on
    the cluster. Rows that already carry a reference keep it.
    """
    ref_map = _as_reference_map(references, spec) or {}
    result = PreparedRows(rows=[], total=len(rows))
    matched: set[str] = set()
    for n, row in enumerate(rows, 1):
        label = dict(row["label"])
        rid = str(label["id"])
        joined = ref_map.get(rid)
        if joined is not None:
            matched.add(rid)
            label["reference"] = label.get("reference") or joined.story
            label["reasoning"] = label.get("reasoning") or joined.reasoning
        if spec.hri_enabled:
            reason = _reference_problem(rid, label.get("reference"), label.get("reasoning"), spec, f"{source}:{n}")
            if reason is not None:
                result.dropped.setdefault(reason, []).append(rid)
                continue
        result.rows.append({**row, "label": label})
    result.stats["unused_references"] = len(set(ref_map) - matched)
    return result
