"""Put tests/ on sys.path so HRI tests can import the shared OpenRLHF harness; the hook fixture."""

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture
def install_hook(tmp_path, monkeypatch):
    """``install_hook(**hook_config_overrides)`` installs the trainer-side hook; uninstalled afterwards."""
    from hri_fixtures import write_hook_config

    from polaris.hri import hook as hri_hook

    def _install(**cfg):
        monkeypatch.setenv("POLARIS_HOOK_CONFIG", str(write_hook_config(tmp_path, **cfg)))
        hri_hook.install()

    yield _install
    hri_hook.uninstall()
