"""Human-reference injection (HRI).

The package root is pure (no torch, no OpenRLHF): it exports the arithmetic. The rollout
executor (``polaris.hri.executor``) and the trainer-side hook (``polaris.hri.hook``) import
OpenRLHF and torch and are loaded only inside the training job.
"""

from polaris.hri._math import GroupResult, diagnostics, group_advantages, reference_weight

__all__ = ["group_advantages", "reference_weight", "diagnostics", "GroupResult"]
