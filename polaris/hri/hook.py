"""Trainer-side HRI hook for stock OpenRLHF 0.11.2 (no fork).

Ray runs ``polaris.hri.hook.install`` in every worker process of the job (runtime_env
``worker_process_setup_hook``). ``install``:

1. reads ``POLARIS_HOOK_CONFIG`` and refuses any OpenRLHF version but 0.11.2;
2. marks the process (``POLARIS_HRI_HOOK_INSTALLED=1``) so the rollout executor can check the
   hook is present before it ever returns a placeholder reward;
3. patches, as soon as they are imported (workers that never import them pay nothing):
   * ``RemoteExperienceMaker.compute_advantages_and_returns`` – imputes failed judgments, then
     (HRI on) computes group_norm advantages with the reference excluded from / included in the
     statistics and weighted by the schedule, or (HRI off) runs the stock method; either way it
     logs the same ``hri/*`` diagnostics through ``info``;
   * ``BasePPOTrainer.train_step`` – records the global step for the weight schedule.
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import logging
import os
import sys

from polaris.hri.config import HOOK_INSTALLED_ENV, HookConfig, HookError, load_hook_config

__all__ = ["install", "SUPPORTED_OPENRLHF", "HookError", "patch_experience_maker", "patch_trainer"]

SUPPORTED_OPENRLHF = "0.11.2"
_EM = "openrlhf.trainer.ppo_utils.experience_maker"
_TRAINER = "openrlhf.trainer.ppo_trainer"
logger = logging.getLogger("polaris.hri.hook")

_config: HookConfig | None = None


def _installed_openrlhf_version() -> str:
    try:
        return importlib.metadata.version("openrlhf")
    except importlib.metadata.PackageNotFoundError:
        return "<not installed>"


def install(config_path: str | None = None) -> None:
    """Entry point for Ray's ``worker_process_setup_hook`` (value ``"polaris.hri.hook.install"``)."""
    global _config
    cfg = load_hook_config(config_path)
    installed = _installed_openrlhf_version()
    for what, version in (("installed", installed), ("compiled for (polaris_hook.json)", cfg.openrlhf_version)):
        if version != SUPPORTED_OPENRLHF:
            raise HookError(
                f"polaris HRI hook: OpenRLHF {version} {what}; the hook patches OpenRLHF internals and "
                f"supports exactly {SUPPORTED_OPENRLHF}. Install openrlhf=={SUPPORTED_OPENRLHF} on every node "
                "and recompile the job.")
    _config = cfg
    _after_import(_EM, patch_experience_maker)
    _after_import(_TRAINER, patch_trainer)
    os.environ[HOOK_INSTALLED_ENV] = "1"


def _current_config() -> HookConfig:
    if _config is None:
        raise HookError("polaris HRI hook: install() has not run in this process")
    return _config


# ---- patches ---------------------------------------------------------------------------------
def patch_experience_maker(em_module) -> None:
    """Wrap ``RemoteExperienceMaker.compute_advantages_and_returns`` (idempotent)."""
    cls = em_module.RemoteExperienceMaker
    original = cls.compute_advantages_and_returns
    if getattr(original, "_polaris_hri", False):
        return
    from polaris.hri._advantages import diagnostics_without_hri, hri_advantages, impute_failed

    def compute_advantages_and_returns(self, experiences):
        cfg = _current_config()
        args = self.strategy.args
        step = getattr(self, "_polaris_global_step", None)
        if step is None:  # train_step patch missing: count calls (resumed runs restart at 0)
            step = getattr(self, "_polaris_calls", 0)
        self._polaris_calls = getattr(self, "_polaris_calls", 0) + 1
        n = args.rollout.n_samples_per_prompt
        imputed = impute_failed(experiences, cfg)
        if not cfg.hri_enabled:
            out = original(self, experiences)
            diagnostics_without_hri(out, n, step, imputed)
            return out
        if args.algo.advantage.estimator != "group_norm":
            raise HookError(
                f"polaris HRI hook: advantage estimator {args.algo.advantage.estimator!r} is not supported with "
                "reference injection; use --algo.advantage.estimator group_norm")
        if "is_reference" not in experiences[0].info:
            raise HookError("polaris HRI hook: rows carry no 'is_reference' log; run the Polaris executor")
        return hri_advantages(self, em_module, experiences, cfg, step, imputed)

    compute_advantages_and_returns._polaris_hri = True
    compute_advantages_and_returns.__wrapped__ = original
    compute_advantages_and_returns.__doc__ = original.__doc__
    cls.compute_advantages_and_returns = compute_advantages_and_returns


def patch_trainer(trainer_module) -> None:
    """Wrap ``BasePPOTrainer.train_step`` to hand the global step to the experience maker."""
    cls = trainer_module.BasePPOTrainer
    original = cls.train_step
    if getattr(original, "_polaris_hri", False):
        return

    def train_step(self, rollout_samples, global_step):
        self.experience_maker._polaris_global_step = int(global_step)
        return original(self, rollout_samples, global_step)

    train_step._polaris_hri = True
    train_step.__wrapped__ = original
    cls.train_step = train_step


# ---- post-import patching ---------------------------------------------------------------------
class _PatchingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then applies the patch to the fresh module."""

    def __init__(self, inner, patch):
        self._inner, self._patch = inner, patch

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._inner, name)


class _PatchFinder(importlib.abc.MetaPathFinder):
    def __init__(self):
        self.patches: dict = {}

    def find_spec(self, fullname, path, target=None):
        patch = self.patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


_finder = _PatchFinder()


def _after_import(name: str, patch) -> None:
    if name in sys.modules:
        patch(sys.modules[name])
        return
    _finder.patches[name] = patch
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Undo install() in this process (tests): drop pending patches and unwrap patched classes."""
    global _config
    _finder.patches.clear()
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name, cls_name, meth in ((_EM, "RemoteExperienceMaker", "compute_advantages_and_returns"),
                                 (_TRAINER, "BasePPOTrainer", "train_step")):
        mod = sys.modules.get(name)
        cls = getattr(mod, cls_name, None) if mod else None
        fn = getattr(cls, meth, None) if cls else None
        if fn is not None and getattr(fn, "_polaris_hri", False):
            setattr(cls, meth, fn.__wrapped__)
    os.environ.pop(HOOK_INSTALLED_ENV, None)
    _config = None
