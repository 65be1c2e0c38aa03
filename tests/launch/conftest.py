"""A real local Ray head on CPU for the launch tests (started once per module, always stopped)."""

from __future__ import annotations

import shutil
import tempfile
from typing import Iterator

import pytest


@pytest.fixture(scope="module")
def ray_head() -> Iterator[object]:
    from polaris.launch import LocalHead

    # Short path: Ray's unix sockets live under the temp dir and have a length limit.
    temp = tempfile.mkdtemp(prefix="prt", dir="/tmp")
    head = LocalHead(num_gpus=0, num_cpus=2, port=0, dashboard_port=0, temp_dir=temp)
    try:
        head.start()
        yield head
    finally:
        head.stop()
        shutil.rmtree(temp, ignore_errors=True)
