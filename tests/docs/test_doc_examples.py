"""The console examples in docs/recipes.md are real: each `$ polaris ...` block is run and compared."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "recipes.md"
MY_RUN = """recipe_version: 1
extends: polaris9b.yaml
name: my-run
grpo:
  samples_per_promt: 8
  lr: 1e-5x
reference_injection:
  weight: {peak: -0.4}
"""


def _examples() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ polaris` line in a console block."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ polaris"):
                cmd, expected = lines[i][2:], []
                i += 1
                while i < len(lines) and not lines[i].startswith("$ "):
                    expected.append(lines[i])
                    i += 1
                out.append((cmd, expected))
            else:
                i += 1
    return out


EXAMPLES = _examples()


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("cmd, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_console_example_matches_real_output(cmd, expected):
    my_run = ROOT / "recipes" / "my-run.yaml"
    uses_my_run = "my-run.yaml" in cmd
    if uses_my_run:
        my_run.write_text(MY_RUN)
    try:
        argv = shlex.split(cmd)
        proc = subprocess.run([sys.executable, "-m", "polaris.cli.main", *argv[1:]], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    finally:
        if uses_my_run:
            my_run.unlink()
    got = (proc.stdout + proc.stderr).splitlines()
    # stdout and stderr are separate streams: compare the lines, not their interleaving
    assert sorted(got) == sorted(expected), "\n".join(got)
