"""Run the reward service app on a real 127.0.0.1 port inside a test's event loop."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, AsyncIterator

from aiohttp import web

from polaris.service._app import create_app

ROOT = Path(__file__).resolve().parents[2]


async def start_app(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on a free 127.0.0.1 port: the runner (``await runner.cleanup()`` to stop) and
    the base URL ``http://127.0.0.1:PORT``."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def running_service(cfg: Any, state_dir: Any, **kw: Any) -> AsyncIterator[str]:
    """Yield the base URL of a running service; cleanup runs the app's graceful shutdown."""
    runner, url = await start_app(create_app(cfg, state_dir, **kw))
    try:
        yield url
    finally:
        await runner.cleanup()


def openrlhf_agent_module() -> types.ModuleType:
    """OpenRLHF 0.11.2's own ``openrlhf/utils/agent.py``, loaded by file path.

    Only ``openrlhf.utils.logging_utils`` (stdlib) is needed besides aiohttp, so the heavy package
    ``__init__``s are bypassed by registering bare package modules for the duration of the load.
    """
    spec = importlib.util.find_spec("openrlhf")
    assert spec is not None and spec.submodule_search_locations, "openrlhf is not installed"
    root = Path(list(spec.submodule_search_locations)[0])
    saved = {k: sys.modules.get(k) for k in ("openrlhf", "openrlhf.utils", "openrlhf.utils.logging_utils")}
    try:
        for name, folder in (("openrlhf", root), ("openrlhf.utils", root / "utils")):
            m = types.ModuleType(name)
            m.__path__ = [str(folder)]
            sys.modules[name] = m
        lu_spec = importlib.util.spec_from_file_location("openrlhf.utils.logging_utils", root / "utils" / "logging_utils.py")
        lu = importlib.util.module_from_spec(lu_spec)  # type: ignore[arg-type]
        sys.modules["openrlhf.utils.logging_utils"] = lu
        lu_spec.loader.exec_module(lu)  # type: ignore[union-attr]
        a_spec = importlib.util.spec_from_file_location("polaris_test_openrlhf_agent", root / "utils" / "agent.py")
        agent = importlib.util.module_from_spec(a_spec)  # type: ignore[arg-type]
        a_spec.loader.exec_module(agent)  # type: ignore[union-attr]
        return agent
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
