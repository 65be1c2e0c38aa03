"""The job bundle: an in-memory set of files, and writing it to a directory."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JobBundle", "write_bundle", "SecretLeak", "BundleDirNotEmpty"]


class SecretLeak(RuntimeError):
    """A value of a forwarded secret variable was found in a bundle file (never written)."""


@dataclass
class JobBundle:
    """Everything a run needs, as relative path -> text. Built by `compile_recipe`, written by `write_bundle`."""

    files: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    recipe_hash: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    forward_env: list[str] = field(default_factory=list)

    def add_json(self, rel: str, obj: Any) -> None:
        self.files[rel] = json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    def add_jsonl(self, rel: str, rows: list[dict]) -> None:
        self.files[rel] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    def shell_argv(self) -> str:
        lines = ["python3 -m openrlhf.cli.train_ppo_ray \\"]
        i, argv = 0, self.argv
        while i < len(argv):
            j = i + 1
            while j < len(argv) and not argv[j].startswith("--"):
                j += 1
            lines.append("  " + " ".join(shlex.quote(x) for x in argv[i:j]) + (" \\" if j < len(argv) else ""))
            i = j
        return "\n".join(lines) + "\n"


def _secret_values(names: list[Any]) -> list[str]:
    # Only values long enough to be real secrets; short ones would match by accident.
    names = [n["name"] if isinstance(n, dict) else n for n in names]
    return [v for v in (os.environ.get(n) for n in names) if v and len(v) >= 8]


class BundleDirNotEmpty(FileExistsError):
    """The output directory already holds files: a bundle is never mixed with another one's leftovers."""


def write_bundle(bundle: JobBundle, out_dir: str | Path, *, exist_ok: bool = False) -> Path:
    """Write every file of `bundle` under `out_dir` (created); refuse if a secret value would be written.

    `out_dir` must not exist or be empty unless `exist_ok` (files of an earlier bundle, such as its
    prepared data, would otherwise be uploaded with the job).
    """
    out = Path(out_dir)
    if not exist_ok and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleDirNotEmpty(f"{out} exists and is not empty; choose a new directory (or remove it first)")
    secrets = _secret_values(bundle.forward_env)
    for rel, text in bundle.files.items():
        for value in secrets:
            if value in text:
                raise SecretLeak(f"refusing to write {rel}: it contains the value of a forwarded secret variable")
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in sorted(bundle.files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return out
