"""Reading a JSON config file into a pydantic model, with errors that name the file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["load_json_model"]

M = TypeVar("M", bound=BaseModel)


def load_json_model(path: Path, model: type[M], error: type[Exception], what: str) -> M:
    """`model` validated from the JSON file at `path`; any problem raises `error` naming the file and field.

    The caller checks that the file exists (its message says where the path came from).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise error(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"{path}: invalid {what}:"]
        for err in e.errors():
            lines.append(f"  {'.'.join(str(x) for x in err['loc']) or '<root>'}: {err['msg']}")
        raise error("\n".join(lines)) from None
