"""Driver step 1: load every split (prepared in the bundle, a cluster file, or a hub dataset),
prepare cluster rows with `polaris.data`, join cluster references, and record what was read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from polaris.data import file_sha256

__all__ = ["DriverError", "LoadedData", "load_data", "load_json", "file_sha256", "row_spec_from_config"]


class DriverError(RuntimeError):
    """A problem the driver reports as one clear message (no traceback) before stopping."""


@dataclass
class LoadedData:
    """Prepared rows per split plus the lock information (hashes, hub revisions, drop counts)."""

    splits: dict[str, Any] = field(default_factory=dict)  # split -> polaris.data.PreparedRows
    sources: dict[str, Any] = field(default_factory=dict)  # split/references -> lock entry


def row_spec_from_config(cfg: dict[str, Any]) -> Any:
    """The `RowSpec` of driver.json: its `row_spec` entry, or the contract's top-level keys."""
    from polaris.data import DataError, RowSpec

    try:
        if "row_spec" in cfg:
            return RowSpec.from_dict(cfg["row_spec"])
        fm, li, flt = cfg.get("fields", {}), cfg.get("length_instruction", {}), cfg.get("filters", {})
        model = cfg.get("model", {})
        refs = (cfg.get("sources") or {}).get("references") or {}
        kwargs = {
            "id_field": fm.get("id", "id"), "prompt_field": fm.get("prompt", "prompt"),
            "target_field": fm.get("target_words", "target_words"), "reference_field": fm.get("reference"),
            "reasoning_field": fm.get("reasoning"), "ref_id_field": refs.get("id_field"),
            "ref_story_field": refs.get("story_field"), "ref_reasoning_field": refs.get("reasoning_field"),
            "length_mode": li.get("mode", "append"), "number_format": li.get("number_format", "comma"),
            "min_target_words": flt.get("min_target_words"), "max_target_words": flt.get("max_target_words"),
            "missing_references": flt.get("missing_references", "error"),
            "overlong_references": flt.get("overlong_references", cfg.get("overlong_references", "drop")),
            "shuffle_seed": cfg.get("shuffle_seed", 3479), "max_samples": cfg.get("max_samples"),
            "max_eval_samples": cfg.get("max_eval_samples"), "hri_enabled": bool(cfg.get("hri_enabled")),
            "require_reasoning_trace": bool(cfg.get("require_reasoning_trace")),
            "thinking": bool(model.get("thinking")), "system_prompt": model.get("system_prompt"),
        }
        if li.get("templates"):
            kwargs["templates"] = tuple(li["templates"])
        return RowSpec(**kwargs)
    except (DataError, TypeError) as exc:
        raise DriverError(f"driver.json: bad row specification: {exc}") from None


def _prepared_rows(path: Path) -> list[dict[str, Any]]:
    from polaris.data import read_table

    rows = []
    for lineno, row in read_table(path, "jsonl"):
        if not isinstance(row.get("messages"), list) or not isinstance(row.get("label"), dict):
            raise DriverError(f"{path}:{lineno}: a prepared row needs 'messages' (list) and 'label' (object)")
        rows.append(row)
    return rows


def _hub_rows(hub: dict[str, Any]) -> tuple[Iterator[tuple[int, dict[str, Any]]], dict[str, Any]]:
    try:
        import datasets  # heavy; only for hub sources
    except ImportError:
        raise DriverError(
            f"the data source is the hub dataset {hub.get('name')!r} but the `datasets` package is not "
            "installed on the head node (pip install datasets)"
        ) from None
    name, rev = hub["name"], hub.get("revision")
    try:
        ds = datasets.load_dataset(name, hub.get("config"), split=hub.get("split", "train"), revision=rev)
    except Exception as exc:  # noqa: BLE001 - network, auth and missing-split errors all end here
        raise DriverError(f"cannot load hub dataset {name!r} (split {hub.get('split')!r}): {exc}") from None
    resolved = None
    try:  # the commit the revision pointed at, so the run can be reproduced exactly
        from huggingface_hub import HfApi

        resolved = HfApi().dataset_info(name, revision=rev).sha
    except Exception:  # noqa: BLE001 - offline or private: the requested revision is still recorded
        resolved = None
    lock = {"hub": name, "split": hub.get("split", "train"), "config": hub.get("config"), "revision": rev,
            "resolved_revision": resolved, "fingerprint": getattr(ds, "_fingerprint", None), "rows": len(ds)}
    return ((i, dict(row)) for i, row in enumerate(ds, 1)), lock


def _cluster_file(entry: dict[str, Any], what: str) -> tuple[Path, dict[str, Any]]:
    path = Path(entry["path"])
    if not path.is_file():
        where = "on this node" if entry.get("location", "cluster") == "cluster" else "here (it was local at compile time)"
        raise DriverError(f"{what}: file {path} does not exist {where}; it must be readable by the head node")
    return path, {"path": str(path), "sha256": file_sha256(path), "bytes": path.stat().st_size}


def _raw_rows(entry: dict[str, Any], what: str) -> tuple[Any, dict[str, Any], str]:
    from polaris.data import read_table

    if "hub" in entry and entry["hub"] is not None:
        rows, lock = _hub_rows(entry["hub"])
        return rows, lock, f"hub:{entry['hub']['name']}"
    path, lock = _cluster_file(entry, what)
    return read_table(path, entry.get("format", "auto")), lock, str(path)


def load_data(bundle: Path, cfg: dict[str, Any]) -> LoadedData:
    """Load and prepare every split named in driver.json `sources`; raise `DriverError` on bad data."""
    from polaris.data import DataError, attach_references, load_references, prepare_rows

    spec = row_spec_from_config(cfg)
    sources = cfg.get("sources") or {}
    out = LoadedData()
    ref_entry = sources.get("references")
    ref_map = None
    try:
        # References are read here only when the compiler could not join them (they live on the cluster).
        train_prepared = "prepared" in (sources.get("train") or {})
        if ref_entry and ref_entry.get("location") == "bundle":  # copied into the bundle by the compiler
            ref_entry = {**ref_entry, "path": str(bundle / ref_entry["path"])}
        if ref_entry and spec.hri_enabled and (ref_entry.get("location", "cluster") == "cluster" or not train_prepared):
            rows, lock, name = _raw_rows(ref_entry, "data.references")
            ref_map = load_references(rows, spec, source=name)
            out.sources["references"] = lock
        for split in ("train", "eval"):
            entry = sources.get(split)
            if not entry:
                continue
            if "prepared" in entry:
                rows = _prepared_rows(bundle / entry["prepared"])
                if split == "train" and ref_map is not None:
                    prepared = attach_references(rows, ref_map, spec, source=entry["prepared"])
                else:
                    from polaris.data import PreparedRows

                    prepared = PreparedRows(rows=rows, total=len(rows))
                out.sources[split] = {"prepared": entry["prepared"], "sha256": file_sha256(bundle / entry["prepared"])}
            else:
                raw, lock, name = _raw_rows(entry, f"data.{split}")
                refs = ref_map if split == "train" else None
                prepared = prepare_rows(raw, spec, split=split, references=refs, source=name)
                out.sources[split] = lock
            out.splits[split] = prepared
    except DataError as exc:
        raise DriverError(str(exc)) from None
    if "train" not in out.splits:
        raise DriverError("driver.json names no training source (sources.train)")
    return out


def load_json(path: Path) -> dict[str, Any]:
    """Read a bundle JSON file with a clear error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DriverError(f"{path}: missing from the bundle (was it written by `polaris compile`?)") from None
    except json.JSONDecodeError as exc:
        raise DriverError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
