"""Running the reward service: address and token checks, then aiohttp's server loop."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from pathlib import Path
from typing import Any

from polaris.service._heap import GC_THRESHOLDS, settle_heap  # noqa: F401  (re-exported)

__all__ = ["run_service", "ServiceError", "is_loopback", "resolve_token", "settle_heap"]

log = logging.getLogger("polaris.service")


class ServiceError(RuntimeError):
    """The service cannot start as asked (message says why and what to do)."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and names that resolve only to them (localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def resolve_token(host: str, token_env: str) -> str | None:
    """The bearer token from the env var NAMED ``token_env``; required when not bound to loopback."""
    token = os.environ.get(token_env) or None
    if token is None and not is_loopback(host):
        raise ServiceError(
            f"refusing to bind {host} without authentication: set the environment variable {token_env} "
            f"to a bearer token (or bind 127.0.0.1)"
        )
    return token


def run_service(
    cfg: Any,
    state_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8731,
    token_env: str = "POLARIS_REWARD_TOKEN",
    judge_override: Any = None,
    use_judge: bool = True,
    shutdown_timeout_s: float = 900.0,
    print_fn: Any = None,
) -> None:
    """Serve until SIGINT/SIGTERM; on shutdown stop accepting, finish in-flight requests, close the DB."""
    from aiohttp import web

    from polaris.service._app import create_app

    token = resolve_token(host, token_env)
    app = create_app(cfg, state_dir, judge_override, token=token, use_judge=use_judge)
    settle_heap(import_judge_sdk=use_judge and (cfg.judge is not None or judge_override is not None))
    msg = (f"polaris reward service on http://{host}:{port} (state: {state_dir}; "
           f"auth: {'bearer token from $' + token_env if token else 'none, loopback only'})")
    (print_fn or print)(msg)
    if not use_judge and cfg.reward.weights.story_quality != 0:
        (print_fn or print)("no judge (--judge none): /get_reward answers 422 for samples whose reward needs the "
                            "judge's story quality; /v1/score returns reward null for them")
    # a large backlog: a GRPO step opens hundreds of connections at once (one per sample)
    web.run_app(app, host=host, port=port, shutdown_timeout=shutdown_timeout_s, print=None,
                access_log=None, handle_signals=True, backlog=4096)
