"""Finding, loading and hashing rubric files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from polaris.schema.rubric import RubricSpec

__all__ = ["RubricError", "builtin_rubrics", "rubric_dir", "load_rubric", "rubric_hash"]


class RubricError(Exception):
    """A rubric file could not be found, parsed or validated.

    ``file`` is the path (or built-in name) as given, ``line``/``col`` are 1-based when known,
    ``path`` is the dotted key path inside the file (``dimensions[3].bands``) when known.
    """

    def __init__(self, message: str, *, file: str, line: int | None = None, col: int | None = None, path: str = ""):
        self.message, self.file, self.line, self.col, self.path = message, file, line, col, path
        where = file
        if line is not None:
            where += f":{line}" + (f":{col}" if col is not None else "")
        super().__init__(f"{where}: {path + ': ' if path else ''}{message}")


def rubric_dir() -> Path:
    """The folder of built-in rubric files (``recipes/rubrics`` next to the package)."""
    import polaris

    return Path(polaris.__file__).resolve().parent.parent / "recipes" / "rubrics"


def builtin_rubrics() -> dict[str, Path]:
    """Built-in rubric name (file stem) → path, sorted by name."""
    folder = rubric_dir()
    if not folder.is_dir():
        return {}
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return {f.stem: f for f in files}


def _resolve(ref: str | Path) -> tuple[Path, str]:
    if isinstance(ref, Path):
        return ref, str(ref)
    builtins = builtin_rubrics()
    if ref in builtins:
        return builtins[ref], ref
    candidate = Path(ref).expanduser()
    if candidate.suffix in (".yaml", ".yml") or "/" in ref or candidate.exists():
        return candidate, ref
    known = ", ".join(builtins) or "(none found)"
    raise RubricError(f"no built-in rubric named {ref!r}; built-in rubrics: {known}; or give a path to a .yaml file", file=ref)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _position(text: str, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """1-based line/col of the deepest existing key of ``loc`` (round-trip parse; best effort)."""
    from ruamel.yaml import YAML

    try:
        node = YAML(typ="rt").load(text)
    except Exception:  # the safe parse already succeeded; positions are a nicety
        return None, None
    line = col = None
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                if lc is not None:
                    line, col = lc.item(part)
                node = node[part]
            elif isinstance(part, str) and isinstance(node, dict) and part in node:
                if lc is not None:
                    line, col = lc.key(part)
                node = node[part]
            else:
                break
        except Exception:
            break
    return (line + 1, col + 1) if line is not None else (None, None)


def load_rubric(ref: str | Path) -> RubricSpec:
    """Load and validate a rubric: a built-in name (see :func:`builtin_rubrics`) or a YAML path.

    Raises :class:`RubricError` (with file, line:col and key path where known) on any problem.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path, shown = _resolve(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError("file not found", file=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"cannot read the file: {exc}", file=shown) from None
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise RubricError(f"invalid YAML: {exc.problem or exc.context}", file=shown, line=line, col=col) from None
    except YAMLError as exc:
        raise RubricError(f"invalid YAML: {exc}", file=shown) from None
    if not isinstance(data, dict):
        raise RubricError("a rubric file must be a mapping (name:, dimensions:, aggregation: ...)", file=shown)
    try:
        return RubricSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("signed_sum", "weighted_mean")))
        line, col = _position(text, loc)
        msg = err["msg"].removeprefix("Value error, ")
        extra = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise RubricError(msg + extra, file=shown, line=line, col=col, path=_dotted(loc)) from None


def rubric_hash(spec: RubricSpec) -> str:
    """sha256 (hex) of the rubric's canonical JSON: identical scoring rules ⇔ identical hash."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
