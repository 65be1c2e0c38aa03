"""Local data at compile time: read, check, hash and prepare; cluster data: record for the driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["prepare_local_data"]


def _source_entry(loaded: Any, key: str, src: Any) -> dict[str, Any]:
    from polaris.resolve import resolve_recipe_path

    if getattr(src, "hub", None) is not None:
        return {"hub": src.hub.model_dump(mode="json")}
    path = resolve_recipe_path(loaded, f"{key}.path", src.path) if src.location == "local" else Path(src.path)
    return {"path": str(path), "format": src.format, "location": src.location}


def prepare_local_data(
    loaded: Any, bundle: Any, hashes: dict[str, str], cluster_files: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[Any]]:
    """Prepare local splits into data/<split>.jsonl; record cluster/hub sources. Returns (driver sources, problems)."""
    from polaris.data import DataError, RowSpec, file_sha256, prepare_rows, read_table
    from polaris.resolve import problem_at

    recipe = loaded.recipe
    spec = RowSpec.from_recipe(recipe)
    sources: dict[str, Any] = {}
    problems: list[Any] = []

    refs = recipe.data.references
    ref_entry = None
    ref_rows = None
    if refs is not None:
        ref_entry = {**_source_entry(loaded, "data.references", refs), **{
            "id_field": refs.id_field, "story_field": refs.story_field, "reasoning_field": refs.reasoning_field}}
        if refs.location == "local":
            path = Path(ref_entry["path"])
            hashes[str(path)] = file_sha256(path)
            try:
                ref_rows = [row for _, row in read_table(path, refs.format)]
            except DataError as exc:
                problems.append(problem_at(loaded, "data.references.path", str(exc), "fix the file; no row is skipped"))
            train = recipe.data.train
            if ref_rows is not None and (train.hub is not None or train.location == "cluster"):
                # The driver joins references to cluster data on the head node: ship the local file with the job.
                bundle.add_jsonl("data/references.jsonl", ref_rows)
                ref_entry.update({"path": "data/references.jsonl", "format": "jsonl", "location": "bundle"})
                bundle.notes.append("data.references is local but data.train is on the cluster: the references "
                                    "are copied into the bundle (data/references.jsonl)")
        else:
            cluster_files.append({"key": "data.references.path", "path": refs.path})
            bundle.notes.append(f"data.references lives on the cluster ({refs.path}): recorded, not read; "
                                "the driver checks and hashes it at job start")
    sources["references"] = ref_entry

    for split in ("train", "eval"):
        src = getattr(recipe.data, split)
        if src is None:
            sources[split] = None
            continue
        key = f"data.{split}"
        entry = _source_entry(loaded, key, src)
        if src.hub is not None or src.location == "cluster":
            where = f"hub dataset {src.hub.name}:{src.hub.split}" if src.hub is not None else src.path
            cluster_files.append({"key": key, **entry})
            bundle.notes.append(f"{key} lives on the cluster ({where}): recorded, not read; "
                                "the driver checks and hashes it at job start")
            sources[split] = entry
            continue
        path = Path(entry["path"])
        hashes[str(path)] = file_sha256(path)
        try:
            raw = list(read_table(path, src.format))
            needs_refs = split == "train" and recipe.reference_injection.enabled
            prepared = prepare_rows(
                raw, spec, split=split, references=ref_rows if needs_refs else None, source=str(path)
            )
        except DataError as exc:
            problems.append(problem_at(loaded, f"{key}.path", str(exc), "fix the file; no row is skipped"))
            continue
        rel = f"data/{split}.jsonl"
        bundle.add_jsonl(rel, prepared.rows)
        for reason, ids in sorted(prepared.dropped.items()):
            bundle.notes.append(f"{key}: dropped {len(ids)} row(s): {reason} (ids: {', '.join(map(str, ids[:5]))}"
                                f"{', ...' if len(ids) > 5 else ''})")
        bundle.summary[f"{split}_rows"] = len(prepared.rows)
        if not prepared.rows:
            problems.append(problem_at(loaded, f"{key}.path", f"no {split} rows left after filtering", "check data.filters"))
        sources[split] = {"prepared": rel}
    return {"sources": sources, "row_spec": spec.to_dict()}, problems
