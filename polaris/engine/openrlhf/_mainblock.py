"""Locate the installed OpenRLHF and pre-compile the `__main__` block of `cli/train_ppo_ray.py`.

Nothing here imports OpenRLHF: the package is found with `importlib.util.find_spec` (which does not
execute a top-level package's `__init__`), the CLI module is read as text and parsed with `ast`, and
`utils/config.py` (stdlib only) is loaded by file path. The parsed/compiled pieces are cached per
(file path, mtime), so validating many argvs in one process is cheap.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import importlib.metadata
import importlib.util
import io
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path

#: The OpenRLHF release polaris targets; the validator runs against whatever is installed.
TARGET_VERSION = "0.11.2"

_INSTALL_HINT = (
    f"install it without its GPU dependencies: pip install --no-deps openrlhf=={TARGET_VERSION} "
    "(the validator only reads its source files; torch, ray, vllm and deepspeed are not needed)"
)


class EngineUnavailable(RuntimeError):
    """OpenRLHF (or the file polaris needs from it) is not installed where Python can find it."""


def installed_openrlhf_version() -> str | None:
    """The installed openrlhf distribution's version, or None when it is not installed."""
    try:
        return importlib.metadata.version("openrlhf")
    except importlib.metadata.PackageNotFoundError:
        return None


def openrlhf_source_dir() -> Path:
    """Directory of the installed `openrlhf` package (its `__init__` is NOT executed)."""
    try:
        spec = importlib.util.find_spec("openrlhf")
    except (ImportError, ValueError) as exc:  # broken install / half-imported module
        raise EngineUnavailable(f"cannot locate the openrlhf package ({exc}); {_INSTALL_HINT}") from exc
    if spec is None:
        raise EngineUnavailable(f"openrlhf is not installed in this Python ({sys.executable}); {_INSTALL_HINT}")
    if spec.origin and spec.origin not in ("namespace", "built-in"):
        return Path(spec.origin).resolve().parent
    locations = list(spec.submodule_search_locations or [])
    if not locations:
        raise EngineUnavailable(f"openrlhf was found but has no source directory; {_INSTALL_HINT}")
    return Path(locations[0]).resolve()


@dataclass(frozen=True)
class MainBlock:
    """The pre-compiled pieces of `train_ppo_ray.py`'s `if __name__ == "__main__":` block."""

    cli_path: Path
    config_path: Path
    parser_code: types.CodeType  # statements before `args = parser.parse_args()`
    main_code: types.CodeType  # the whole block body
    stmt_spans: tuple[tuple[int, int, tuple[str, ...]], ...]  # (first line, last line, args.* dests)
    asserts: tuple[tuple[int, int, str], ...]  # (first line, last line, source of the assert test)
    lines: tuple[str, ...]  # the file's source lines (for error context)


_CACHE: dict[tuple[str, int], MainBlock] = {}
_CACHE_LOCK = threading.Lock()


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    left, comps = node.test.left, node.test.comparators
    return (
        isinstance(left, ast.Name)
        and left.id == "__name__"
        and len(comps) == 1
        and isinstance(comps[0], ast.Constant)
        and comps[0].value == "__main__"
    )


def _is_parse_args(stmt: ast.stmt) -> bool:
    value = getattr(stmt, "value", None)
    return (
        isinstance(stmt, ast.Assign)
        and isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "parse_args"
    )


def _args_dests(node: ast.AST) -> list[str]:
    """Dotted dests read or written through `args.<a>.<b>...` inside `node`, in source order."""
    found: list[str] = []

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Attribute):
            chain: list[str] = []
            cur: ast.AST = n
            while isinstance(cur, ast.Attribute):
                chain.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == "args" and chain:
                dest = ".".join(reversed(chain))
                if dest not in found:
                    found.append(dest)
                return  # the chain is consumed; do not also record its prefixes
        if isinstance(n, ast.Assign):  # right-hand side first: it usually holds the cause
            visit(n.value)
            for t in n.targets:
                visit(t)
            return
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return found


def _collect_spans(body: list[ast.stmt]) -> tuple[list, list]:
    """Per simple statement: its line span and the dests it (or an enclosing `if` test) reads."""
    spans: list[tuple[int, int, tuple[str, ...]]] = []
    asserts: list[tuple[int, int, str]] = []

    def walk(stmts: list[ast.stmt], outer: tuple[str, ...]) -> None:
        for n in stmts:
            if isinstance(n, (ast.If, ast.While)):
                inner = outer + tuple(d for d in _args_dests(n.test) if d not in outer)
                spans.append((n.test.lineno, n.test.end_lineno or n.test.lineno, inner))
                walk(n.body, inner)
                walk(n.orelse, outer)
                continue
            if isinstance(n, (ast.For, ast.With)):
                walk(n.body, outer)
                continue
            own = _args_dests(n)
            spans.append((n.lineno, n.end_lineno or n.lineno, tuple(own + [d for d in outer if d not in own])))
            if isinstance(n, ast.Assert):
                asserts.append((n.lineno, n.end_lineno or n.lineno, ast.unparse(n.test)))

    walk(body, ())
    return spans, asserts


def load_main_block() -> MainBlock:
    """Parse and compile the installed `train_ppo_ray.py` main block (cached per file mtime)."""
    root = openrlhf_source_dir()
    cli_path = root / "cli" / "train_ppo_ray.py"
    config_path = root / "utils" / "config.py"
    for p in (cli_path, config_path):
        if not p.is_file():
            raise EngineUnavailable(f"the openrlhf install at {root} has no {p.relative_to(root)}; {_INSTALL_HINT}")
    key = (str(cli_path), cli_path.stat().st_mtime_ns)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        source = cli_path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(cli_path))
        guards = [n for n in tree.body if _is_main_guard(n)]
        if len(guards) != 1:
            raise EngineUnavailable(f"{cli_path}: expected one `if __name__ == '__main__':` block, found {len(guards)}")
        body = guards[0].body
        split = next((i for i, s in enumerate(body) if _is_parse_args(s)), None)
        if split is None:
            raise EngineUnavailable(f"{cli_path}: no `args = parser.parse_args()` in the main block")
        # compile() on a Module built from the original nodes keeps the real line numbers.
        parser_code = compile(ast.Module(body=body[:split], type_ignores=[]), str(cli_path), "exec")
        main_code = compile(ast.Module(body=body, type_ignores=[]), str(cli_path), "exec")
        spans, asserts = _collect_spans(body[split:])
        block = MainBlock(
            cli_path=cli_path,
            config_path=config_path,
            parser_code=parser_code,
            main_code=main_code,
            stmt_spans=tuple(spans),
            asserts=tuple(asserts),
            lines=tuple(source.splitlines()),
        )
        _CACHE.clear()  # one installed version per process is the normal case
        _CACHE[key] = block
        return block


def build_parser(block: MainBlock | None = None, *, clock: type = datetime.datetime) -> argparse.ArgumentParser:
    """A fresh `argparse.ArgumentParser` built by the block's statements before `parse_args()`.

    `clock` stands in for the module's `from datetime import datetime` (a default uses `now()`).
    """
    block = block or load_main_block()
    ns: dict = {"__name__": "polaris_openrlhf_main", "argparse": argparse, "datetime": clock}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(block.parser_code, ns)
    parser = ns.get("parser")
    if not isinstance(parser, argparse.ArgumentParser):
        raise EngineUnavailable(f"{block.cli_path}: the main block does not build `parser`")
    return parser


def load_config_module(path: Path) -> types.ModuleType:
    """Load `openrlhf/utils/config.py` by path, without running `openrlhf/utils/__init__.py`."""
    spec = importlib.util.spec_from_file_location("openrlhf.utils.config", path)
    if spec is None or spec.loader is None:
        raise EngineUnavailable(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "hierarchize"):
        raise EngineUnavailable(f"{path} has no `hierarchize`; is this openrlhf {TARGET_VERSION}?")
    return module
