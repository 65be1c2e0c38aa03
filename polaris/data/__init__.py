"""Prompt data: reading tables and preparing rows, shared by the compiler (local files) and the
driver (cluster files, hub datasets). Pure Python; pyarrow only when a Parquet file is read.

Public names:

* `read_table(path, fmt="auto") -> Iterator[(line, row)]` — JSONL/Parquet rows; `TableReadError` at file:line.
* `RowSpec` — what preparation needs from a recipe (`from_recipe`, `to_dict`, `from_dict`).
* `prepare_rows(raw_rows, spec, *, split, references=None, source=...) -> PreparedRows`.
* `load_references(raw, spec, *, source)`, `attach_references(rows, references, spec, *, source)`.
* `DataError` (base of every data error), `RowError`, `TableReadError`.
"""

from ._prepare import (
    PreparedRows,
    Reference,
    RowError,
    attach_references,
    fill_template,
    load_references,
    pick_template,
    prepare_rows,
)
from ._read import DataError, TableReadError, detect_format, file_sha256, read_table
from ._spec import RowSpec

__all__ = [
    "DataError",
    "PreparedRows",
    "Reference",
    "RowError",
    "RowSpec",
    "TableReadError",
    "attach_references",
    "detect_format",
    "file_sha256",
    "fill_template",
    "load_references",
    "pick_template",
    "prepare_rows",
    "read_table",
]
