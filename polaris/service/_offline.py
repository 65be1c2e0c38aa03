"""Offline scoring of a JSONL file (``polaris score``): same reward code as the service.

Input rows: ``{"id", "prompt", "response", "target_words"?}``. Exactly one output row per input
row, in input order: bad rows become rows with ``failed: true`` and an ``error`` naming the line,
never dropped. Rows are processed in chunks (the chunk is the "batch" for batch-mean imputation,
like a training step) and each finished chunk is appended and flushed, so an interrupted run
resumes by skipping ids already in the output; judgments are also kept in a SQLite store next to
the output, so a resumed run does not pay twice for work in an unfinished chunk.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from polaris.service._config import ServiceConfig
from polaris.service._scorer import Item, ItemResult, RewardScorer

__all__ = ["score_file", "ScoreSummary", "read_rows", "result_row", "judge_identity", "MixedJudgeOutput"]


@dataclass
class ScoreSummary:
    """Counts of one ``score`` run."""

    rows: int = 0
    skipped_done: int = 0
    written: int = 0
    bad_rows: list[str] = field(default_factory=list)
    failed: int = 0
    imputed: int = 0
    cost_usd: float = 0.0


def _target(tw: Any) -> tuple[int | None, str | None]:
    """A row's target_words as an int, or the reason it is not one (None when absent)."""
    from polaris.reward import target_words_value

    try:
        return target_words_value(tw), None
    except ValueError as e:
        return None, str(e)


def read_rows(path: Path) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, error or None) for every non-blank line; a valid target is an int."""
    out: list[tuple[int, dict[str, Any] | None, str | None]] = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                out.append((n, None, f"{path}:{n}: not valid UTF-8 (byte {e.start + 1})"))
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                out.append((n, None, f"{path}:{n}: not valid JSON ({e.msg} at column {e.colno})"))
                continue
            if not isinstance(row, dict):
                out.append((n, None, f"{path}:{n}: expected a JSON object"))
                continue
            missing = [k for k in ("id", "prompt", "response") if row.get(k) is None]
            if missing:
                out.append((n, row, f"{path}:{n}: missing field(s) {', '.join(missing)}"))
                continue
            target, problem = _target(row.get("target_words"))
            if problem is not None:
                out.append((n, row, f"{path}:{n}: {problem}"))
                continue
            out.append((n, {**row, "target_words": target} if target is not None else row, None))
    return out


def judge_identity(cfg: ServiceConfig) -> str:
    """Which judge produced a row ('none' without one); rows of different judges never mix in one file."""
    if cfg.judge is None:
        return "none"
    return ", ".join(f"{m.model}@{m.base_url}" for m in cfg.judge.members())


class MixedJudgeOutput(ValueError):
    """The output file holds rows scored by another judge (resuming would mix them)."""


def _done_ids(out_path: Path, judge: str) -> set[str]:
    done: set[str] = set()
    if not out_path.exists():
        return done
    with open(out_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
                rid = str(rec["id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line from a crash: that row is redone
            if rec.get("judge", judge) != judge:
                raise MixedJudgeOutput(
                    f"{out_path} holds rows scored with judge {rec.get('judge')!r}; this run uses {judge!r}. "
                    "Write to a new output file (resuming would mix judges and skip rows that need this judge)."
                )
            done.add(rid)
    return done


def _row_key(n: int, row: dict[str, Any] | None) -> str:
    return str(row["id"]) if row and row.get("id") is not None else f"line:{n}"


#: The fixed leading fields of every output row, in order (a bad input row has them too, as null).
ROW_FIELDS = ("id", "words", "target_words", "story_quality", "repetition", "blank", "length_penalty",
              "length_score_sl", "overlong", "think_penalty", "injection_flag", "reward", "failed", "imputed",
              "imputed_story_quality")
_COMPONENT_FIELDS = ROW_FIELDS[4:11]


def bad_row(key: str, error: str) -> dict[str, Any]:
    """The output row standing for an input row that could not be scored."""
    return {**dict.fromkeys(ROW_FIELDS), "id": key, "failed": True, "imputed": False, "error": error}


def result_row(r: ItemResult, target_words: int | None) -> dict[str, Any]:
    """The output row of one scored item (fixed keys, then every component, then dimensions)."""
    c = r.components
    row: dict[str, Any] = {"id": r.id, "words": c.get("words"), "target_words": target_words,
                           "story_quality": r.story_quality}
    for k in _COMPONENT_FIELDS:
        row[k] = c.get(k)
    row.update({"reward": r.reward, "failed": r.failed, "imputed": r.imputed,
                "imputed_story_quality": r.imputed_story_quality})
    for k, v in c.items():
        if k not in row and k != "score_latency_s":
            row[k] = v
    for k, v in r.dimensions.items():
        row[f"dim_{k}"] = v
    if r.failed and r.flags.get("judge_failure"):
        row["error"] = f"judge failed: {r.flags['judge_failure']}"
    return row


def _items(rows: list[tuple[int, dict[str, Any]]], cfg: ServiceConfig) -> list[tuple[Item, int | None]]:
    from polaris.reward import parse_target_words, strip_length_instruction

    out = []
    for _, row in rows:
        target = row.get("target_words")  # already an int or None (read_rows)
        if target is None:
            target = parse_target_words(str(row["prompt"]))
        judge_prompt = strip_length_instruction(str(row["prompt"]), cfg.length_templates)
        out.append((Item(id=str(row["id"]), judge_prompt=judge_prompt, response=str(row["response"]),
                         target_words=target, response_tokens=row.get("response_tokens"),
                         think_tokens=row.get("think_tokens"), truncated=bool(row.get("truncated", False))), target))
    return out


async def score_file_async(
    cfg: ServiceConfig,
    in_path: str | Path,
    out_path: str | Path,
    *,
    judge: Any = None,
    use_judge: bool = True,
    state_dir: str | Path | None = None,
    chunk_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> ScoreSummary:
    """Score ``in_path`` into ``out_path`` (appending; resumable). See the module docstring."""
    in_path, out_path = Path(in_path), Path(out_path)
    if not use_judge:
        cfg = cfg.model_copy(update={"judge": None})
    if state_dir is None:
        state_dir = out_path.with_name(out_path.name + ".state")
    scorer = RewardScorer(cfg, state_dir=state_dir, judge=judge)
    summary = ScoreSummary()
    rows = read_rows(in_path)
    summary.rows = len(rows)
    identity = judge_identity(cfg)
    done = _done_ids(out_path, identity)
    seen: set[str] = set()
    todo: list[tuple[int, dict[str, Any] | None, str | None, str]] = []
    for n, row, err in rows:
        key = _row_key(n, row)
        if err is None and key in seen:
            err = f"{in_path}:{n}: duplicate id {key!r} (first seen earlier in the file)"
            key = f"line:{n}"
        seen.add(key)
        if key in done:
            summary.skipped_done += 1
            continue
        todo.append((n, row, err, key))
    total = len(todo)
    finished = 0
    try:
        with open(out_path, "a", encoding="utf-8") as out:
            for start in range(0, total, chunk_size):
                chunk = todo[start:start + chunk_size]
                good = [(n, row) for n, row, err, _ in chunk if err is None and row is not None]
                items = _items(good, cfg)
                results = await scorer.score([it for it, _ in items])
                summary.imputed += scorer.impute(results)
                by_line = {n: (r, t) for (n, _), r, (_, t) in zip(good, results, items)}
                for n, row, err, key in chunk:
                    if err is not None:
                        summary.bad_rows.append(err)
                        rec = bad_row(key, err)
                    else:
                        r, t = by_line[n]
                        rec = result_row(r, t)
                        summary.failed += int(r.failed and not r.imputed)
                        if r.judgment is not None and not r.judgment.cached:
                            summary.cost_usd += r.judgment.cost_usd
                    rec["judge"] = identity
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    summary.written += 1
                out.flush()
                finished += len(chunk)
                if progress is not None:
                    progress(finished, total)
    finally:
        await scorer.aclose()
    return summary


def score_file(cfg: ServiceConfig, in_path: str | Path, out_path: str | Path, *, show_progress: bool = True,
               **kw: Any) -> ScoreSummary:
    """Synchronous wrapper with a progress bar on stderr."""
    if not show_progress:
        return asyncio.run(score_file_async(cfg, in_path, out_path, **kw))
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[bold]scoring", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("score", total=None)

        def _tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return asyncio.run(score_file_async(cfg, in_path, out_path, progress=_tick, **kw))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `polaris score`")
