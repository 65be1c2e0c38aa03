"""Loaded by OpenRLHF 0.11.2 through ``--train.agent_func_path plugins/polaris_executor.py``.

OpenRLHF requires a class named ``AgentExecutor`` subclassing ``AgentExecutorBase`` and builds it
with no arguments. The logic lives in ``polaris.hri.executor``; configuration comes from the file
named by ``POLARIS_EXECUTOR_CONFIG``.
"""

from polaris.hri.executor import PolarisExecutor


class AgentExecutor(PolarisExecutor):
    """Polaris rollout executor (human-reference injection + Polaris reward service)."""

    def __init__(self):
        super().__init__()
