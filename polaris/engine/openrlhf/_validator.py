"""Run OpenRLHF 0.11.2's own argument validation on an argv, with the standard library only.

`validate_argv` executes the real `if __name__ == "__main__":` block of the installed
`openrlhf/cli/train_ppo_ray.py` (the parser, `hierarchize`, every assert and every silent rewrite)
with `train` replaced by a capture function, `openrlhf.utils.config` loaded by path into
`sys.modules` for the duration of the run (so `openrlhf/utils/__init__.py`, which imports torch and
transformers, never runs), `sys.argv` patched and stdout/stderr captured. Everything is restored
afterwards; runs are serialised by a lock because argv and stdout are process-global.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import re
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

from ._mainblock import (  # noqa: F401  (re-exported for callers of this module)
    TARGET_VERSION,
    EngineUnavailable,
    MainBlock,
    build_parser,
    installed_openrlhf_version,
    load_config_module,
    load_main_block,
    openrlhf_source_dir,
)


#: The flags each of the main block's silent rewrites reads or changes, keyed by a word of the line
#: it prints (its flag names there are old-style or partial), so an error can name the recipe
#: fields behind them. Checked against the installed parser by the tests.
REWRITE_FLAGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("input_template", ("--data.input_template",)),
    ("ring_attn_size", ("--ds.ring_attn_size", "--ds.packing_samples")),
    ("use_dynamic_batch", ("--train.dynamic_batch_enable", "--ds.packing_samples")),
    ("rollout_max_tokens_per_gpu", ("--rollout.max_tokens_per_gpu", "--train.max_tokens_per_gpu")),
    ("attn_implementation", ("--ds.attn_implementation", "--ds.packing_samples")),
    ("enable_sleep", ("--vllm.enable_sleep", "--train.colocate_all")),
    ("colocate_all_models in async", ("--train.colocate_all", "--train.async_enable")),
)


def rewrite_flags(line: str) -> list[str]:
    """The flags behind one printed rewrite line of the main block (empty when unknown)."""
    for word, flags in REWRITE_FLAGS:
        if word in line:
            return list(flags)
    return []


#: Serialises runs: the block reads `sys.argv` and prints to `sys.stdout`, both process-global.
_RUN_LOCK = threading.RLock()
_PROG = "train_ppo_ray.py"


@dataclass
class EngineResult:
    """Outcome of running OpenRLHF's main block on one argv.

    `warnings` are the lines the block printed, i.e. its silent rewrites and recommendations
    (most start with `[Warning]`; the vLLM-sleep rewrite does not). `flag` is the offending
    flag when it can be told from the message or the failing statement; `flags` lists every
    flag the failing statement reads.
    """

    ok: bool
    args: types.SimpleNamespace | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # "argparse" | "assert" | "exception"
    flag: str | None = None
    flags: list[str] = field(default_factory=list)
    lineno: int | None = None  # line in train_ppo_ray.py of a failing assert/statement

    def to_dict(self) -> dict:
        """JSON-able view (the hierarchized args become nested dicts)."""
        return {
            "ok": self.ok,
            "args": namespace_to_dict(self.args) if self.args is not None else None,
            "warnings": list(self.warnings),
            "error": self.error,
            "error_kind": self.error_kind,
            "flag": self.flag,
            "flags": list(self.flags),
            "lineno": self.lineno,
        }


def namespace_to_dict(ns: object) -> object:
    """Nested SimpleNamespace → nested dict (tuples become lists, inf stays a float)."""
    if isinstance(ns, types.SimpleNamespace):
        return {k: namespace_to_dict(v) for k, v in vars(ns).items()}
    if isinstance(ns, (list, tuple)):
        return [namespace_to_dict(v) for v in ns]
    return ns


class _TrainCalled(Exception):
    """Raised by the capture `train` so nothing after it in the block runs."""

    def __init__(self, args: types.SimpleNamespace) -> None:
        super().__init__("train called")
        self.captured = args


def _capture_train(args: types.SimpleNamespace) -> None:
    raise _TrainCalled(args)


def _stub_modelscope() -> types.ModuleType:
    # `--use_ms` makes the block import modelscope and patch the HF hub (a side effect that
    # redirects downloads); validation must not do that, so a no-op stands in for it.
    mod = types.ModuleType("modelscope.utils.hf_util")
    mod.patch_hub = lambda: None  # type: ignore[attr-defined]
    return mod


_FLAG_RE = re.compile(r"(--[A-Za-z0-9_][A-Za-z0-9_.\-]*)")


def _argparse_flag(message: str) -> str | None:
    m = re.match(r"argument ([^:]+):", message)
    if m:  # "argument --x/-x: ..." names the option strings of the failing action
        return m.group(1).split("/")[0].strip()
    m = _FLAG_RE.search(message)
    return m.group(1) if m else None


def _clean_argparse(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        prefix = f"{_PROG}: error: "
        if ln.startswith(prefix):
            return ln[len(prefix) :].strip()
    return lines[-1].strip() if lines else "argument parsing failed"


def _failing_line(tb: types.TracebackType | None, path: Path) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _span_flags(block: MainBlock, line: int | None, known: set[str]) -> list[str]:
    if line is None:
        return []
    best = None
    for first, last, dests in block.stmt_spans:
        if first <= line <= last and (best is None or last - first < best[1] - best[0]):
            best = (first, last, dests)
    if best is None:
        return []
    flags: list[str] = []
    for dest in best[2]:
        parts = dest.split(".")
        # `args.reward.model_name_or_path.split` reads the dest `reward.model_name_or_path`
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts and f"--{'.'.join(parts)}" not in flags:
            flags.append(f"--{'.'.join(parts)}")
    return flags


def _known_dests(block: MainBlock) -> set[str]:
    return {a.dest for a in build_parser(block)._actions}


_DESTS_CACHE: dict[int, set[str]] = {}


def validate_argv(argv: list[str]) -> EngineResult:
    """Run the installed `train_ppo_ray.py` main block on `argv` (flags only, no program name).

    Raises `EngineUnavailable` when openrlhf is not installed; every problem with the argv
    itself is reported in the returned `EngineResult`, never raised.
    """
    block = load_main_block()
    known = _DESTS_CACHE.get(id(block))
    if known is None:
        known = _DESTS_CACHE[id(block)] = _known_dests(block)
    config_module = load_config_module(block.config_path)
    argv = [str(a) for a in argv]
    glb: dict = {
        "__name__": "polaris_openrlhf_main",
        "__file__": str(block.cli_path),
        "argparse": argparse,
        "datetime": datetime.datetime,
        "train": _capture_train,
    }
    injected = {"openrlhf.utils.config": config_module, "modelscope.utils.hf_util": _stub_modelscope()}
    out, err = io.StringIO(), io.StringIO()
    with _RUN_LOCK:
        saved_argv = sys.argv
        saved_mods = {name: sys.modules.get(name) for name in injected}
        try:
            sys.argv = [_PROG, *argv]
            sys.modules.update(injected)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                exec(block.main_code, glb)
        except _TrainCalled as done:
            return EngineResult(ok=True, args=done.captured, warnings=_printed(out))
        except SystemExit as exc:
            if exc.code in (0, None):
                msg = "the argv asks for help (-h/--help); nothing was validated"
            else:
                msg = _clean_argparse(err.getvalue())
            return EngineResult(
                ok=False, warnings=_printed(out), error=msg, error_kind="argparse", flag=_argparse_flag(msg)
            )
        except AssertionError as exc:
            line = _failing_line(exc.__traceback__, block.cli_path)
            msg = str(exc).strip() or _assert_source(block, line)
            flags = _span_flags(block, line, known)
            return EngineResult(
                ok=False,
                warnings=_printed(out),
                error=msg,
                error_kind="assert",
                flag=_pick_flag(msg, flags),
                flags=flags,
                lineno=line,
            )
        except Exception as exc:  # a crash inside the block is a rejection too (e.g. gae without RM)
            line = _failing_line(exc.__traceback__, block.cli_path)
            where = f" at train_ppo_ray.py:{line}: {block.lines[line - 1].strip()}" if line else ""
            flags = _span_flags(block, line, known)
            return EngineResult(
                ok=False,
                warnings=_printed(out),
                error=f"{type(exc).__name__}: {exc}{where}",
                error_kind="exception",
                flag=_pick_flag(str(exc), flags),
                flags=flags,
                lineno=line,
            )
        finally:
            sys.argv = saved_argv
            for name, mod in saved_mods.items():
                if mod is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = mod
    # The block always ends by calling train(); reaching here means the file changed shape.
    return EngineResult(
        ok=False,
        warnings=_printed(out),
        error=f"{block.cli_path} main block finished without calling train()",
        error_kind="exception",
    )


def _printed(buf: io.StringIO) -> list[str]:
    return [ln.strip() for ln in buf.getvalue().splitlines() if ln.strip()]


def _assert_source(block: MainBlock, line: int | None) -> str:
    for first, last, test in block.asserts:
        if line is not None and first <= line <= last:
            return f"assertion failed: {test}"
    return "assertion failed"


def _pick_flag(message: str, flags: list[str]) -> str | None:
    """The flag the message names first (as `--a.b` or by its last part), else the statement's first."""
    if not flags:
        return _argparse_flag(message)
    hits = []
    for f in flags:
        pos = message.find(f)
        if pos < 0:
            pos = message.find(f.rsplit(".", 1)[-1])
        if pos >= 0:
            hits.append((pos, f))
    return min(hits)[1] if hits else flags[0]
