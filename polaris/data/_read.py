"""Reading row tables (JSONL, Parquet) with located errors: a bad row stops the read, never vanishes."""

from __future__ import annotations

import hashlib

import json
from pathlib import Path
from typing import Any, Iterator

__all__ = ["DataError", "TableReadError", "detect_format", "read_table"]


def file_sha256(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class DataError(ValueError):
    """A data problem a user must fix; the message says where (file:line) and what."""


class TableReadError(DataError):
    """A file that cannot be read as a table of rows (missing, bad JSON, not an object per line)."""


def detect_format(path: str | Path, fmt: str = "auto") -> str:
    """'jsonl' or 'parquet' from an explicit format or the file extension."""
    if fmt in ("jsonl", "parquet"):
        return fmt
    if fmt != "auto":
        raise DataError(f"{path}: unknown format {fmt!r} (use auto, jsonl or parquet)")
    name = str(path).lower()
    if name.endswith((".jsonl", ".json", ".jsonl.gz")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise DataError(f"{path}: cannot tell the format from the extension; use .jsonl or .parquet or set the format")


def read_table(path: str | Path, fmt: str = "auto") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_or_row_number, row)`` for every row of a JSONL or Parquet file (1-based numbers).

    JSONL: blank lines are not rows and are skipped; any other line that is not a JSON object raises
    `TableReadError` naming ``file:line``. Parquet is read in batches with pyarrow (imported here only).
    """
    p = Path(path)
    kind = detect_format(p, fmt)
    if not p.is_file():
        raise TableReadError(f"{p}: file not found")
    if kind == "jsonl":
        yield from _read_jsonl(p)
    else:
        yield from _read_parquet(p)


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener: Any = open
    if str(path).endswith(".gz"):
        import gzip

        opener = gzip.open
    with opener(path, "rt", encoding="utf-8") as fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise TableReadError(f"{path}:{lineno + 1}: not UTF-8 text ({exc.reason})") from None
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TableReadError(f"{path}:{lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(row, dict):
                raise TableReadError(f"{path}:{lineno}: expected a JSON object per line, got {type(row).__name__}")
            yield lineno, row


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dev/train dependency
        raise TableReadError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise TableReadError(f"{path}: not a readable Parquet file: {exc}") from None
    n = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            n += 1
            yield n, row
