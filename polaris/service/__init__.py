"""The reward service (aiohttp), its SQLite judgment store and audit log, and offline score/preflight.

Library entry points: :func:`create_app`, :func:`run_service`, :func:`score_file`,
:func:`run_preflight`. aiohttp is imported lazily by the app/run functions' modules only when used
from the CLI (``polaris.cli`` imports nothing from here at module import time).
"""

from polaris.service._config import FORMAT, SERVICE_CONFIG_NAME, ServiceConfig, ServiceConfigError
from polaris.service._scorer import Item, ItemResult, RewardScorer
from polaris.service._source import apply_judge_overrides, load_service_config
from polaris.service._store import AuditLog, JudgmentStore, judgment_key

__all__ = [
    "ServiceConfig", "ServiceConfigError", "SERVICE_CONFIG_NAME", "FORMAT",
    "Item", "ItemResult", "RewardScorer",
    "JudgmentStore", "AuditLog", "judgment_key",
    "load_service_config", "apply_judge_overrides",
    "create_app", "run_service", "score_file", "run_preflight",
]


def __getattr__(name: str):  # lazy: aiohttp / rich only when these are used
    if name == "create_app":
        from polaris.service._app import create_app

        return create_app
    if name == "run_service":
        from polaris.service._run import run_service

        return run_service
    if name == "score_file":
        from polaris.service._offline import score_file

        return score_file
    if name == "run_preflight":
        from polaris.service._preflight import run_preflight

        return run_preflight
    raise AttributeError(name)
