"""Run OpenRLHF 0.11.2's real code on CPU (openrlhf.md §6, level 1).

Only ``ray``, ``vllm``, ``deepspeed``, ``transformers`` and ``openrlhf.trainer.ray.launcher`` are
stubbed; ``openrlhf.utils``, ``openrlhf.models``, ``openrlhf.trainer``, ``openrlhf.trainer.ray``,
``openrlhf.trainer.ppo_utils`` and ``openrlhf.datasets`` are registered as bare packages (their
real folders on ``__path__``) so the heavy ``__init__``s never run while the real submodules
(agent.py, vllm_engine.py, samples_generator.py, experience_maker.py, ...) import normally.

``openrlhf_stubs()`` removes every module it or the code under test imported (stubs, OpenRLHF,
``polaris.hri.executor`` and the plugin shim) and restores what was there before, so nothing leaks
into the rest of the pytest session. Use the ``openrlhf_real`` fixture in tests.

Import this file from tests with ``tests/`` on ``sys.path`` (``tests/hri/conftest.py`` does it).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
import types
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

__all__ = ["openrlhf_stubs", "openrlhf_real", "FakeLLM", "make_rollout_actor", "make_args", "make_experience_maker",
           "Out", "SamplingParams", "TinyTokenizer"]

_OWNED_PREFIXES = ("ray", "vllm", "deepspeed", "transformers", "openrlhf", "polaris.hri.executor", "agent_module",
                   "polaris_executor_plugin")


def _owned(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _OWNED_PREFIXES)


class SamplingParams:
    """Stand-in for ``vllm.SamplingParams``: a plain attribute bag with vLLM's defaults."""

    _DEFAULTS = dict(n=1, temperature=1.0, top_p=1.0, top_k=-1, min_p=0.0, repetition_penalty=1.0, max_tokens=16,
                     min_tokens=0, skip_special_tokens=True, logprobs=None, prompt_logprobs=None, stop=None)

    def __init__(self, **kw):
        unknown = set(kw) - set(self._DEFAULTS)
        if unknown:
            raise TypeError(f"unexpected SamplingParams fields {unknown}")
        for k, v in {**self._DEFAULTS, **kw}.items():
            setattr(self, k, v)


def _module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def _bare_package(name: str, folder: Path) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__path__ = [str(folder)]
    m.__package__ = name
    return m


def _stub_modules(root: Path) -> dict[str, types.ModuleType]:
    def remote(obj=None, **_):
        return obj if obj is not None else (lambda o: o)

    class _PGStrategy:
        def __init__(self, *a, **k):
            pass

    class _AutoTokenizer:
        @staticmethod
        def from_pretrained(*a, **k):
            raise RuntimeError("transformers is stubbed in the OpenRLHF harness; build a tokenizer in the test")

    class _RayActorGroup:  # only a type annotation target in the modules we run
        pass

    mods = {
        "ray": _module("ray", remote=remote, get=lambda x, *a, **k: x, put=lambda x: x,
                       wait=lambda refs, **k: (refs, []), __version__="stub"),
        "ray.util": _module("ray.util"),
        "ray.util.placement_group": _module("ray.util.placement_group", placement_group=lambda *a, **k: None),
        "ray.util.scheduling_strategies": _module("ray.util.scheduling_strategies",
                                                  PlacementGroupSchedulingStrategy=_PGStrategy),
        "vllm": _module("vllm", SamplingParams=SamplingParams, __version__="0.29.0"),
        "vllm.inputs": _module("vllm.inputs", TokensPrompt=lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}),
        "vllm.utils": _module("vllm.utils", random_uuid=lambda: uuid.uuid4().hex),
        "deepspeed": _module("deepspeed", utils=SimpleNamespace(set_z3_leaf_modules=lambda *a, **k: None)),
        "transformers": _module("transformers", AutoTokenizer=_AutoTokenizer),
        "openrlhf.trainer.ray.launcher": _module("openrlhf.trainer.ray.launcher", RayActorGroup=_RayActorGroup),
    }
    mods["ray"].util = mods["ray.util"]
    mods["vllm"].inputs, mods["vllm"].utils = mods["vllm.inputs"], mods["vllm.utils"]
    for pkg in ("openrlhf.utils", "openrlhf.models", "openrlhf.trainer", "openrlhf.trainer.ray",
                "openrlhf.trainer.ppo_utils", "openrlhf.datasets"):
        mods[pkg] = _bare_package(pkg, root.joinpath(*pkg.split(".")[1:]))
    return mods


@contextlib.contextmanager
def openrlhf_stubs():
    """Install the stubs; yield; then remove every module imported meanwhile and restore the rest."""
    spec = importlib.util.find_spec("openrlhf")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("openrlhf 0.11.2 is not installed (pip install --no-deps openrlhf==0.11.2)")
    root = Path(list(spec.submodule_search_locations)[0])
    saved = {k: v for k, v in sys.modules.items() if _owned(k)}
    for k in saved:
        del sys.modules[k]
    mods = _stub_modules(root)
    mods["openrlhf"] = _bare_package("openrlhf", root)
    sys.modules.update(mods)
    try:
        yield root
    finally:
        for k in [k for k in sys.modules if _owned(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


@pytest.fixture
def openrlhf_real():
    """Fixture form of ``openrlhf_stubs()``; yields the real openrlhf package folder."""
    with openrlhf_stubs() as root:
        yield root


# ---- fakes for the vLLM side -----------------------------------------------------------------
class Out(SimpleNamespace):
    """A vLLM ``RequestOutput``-like object."""


class FakeLLM:
    """``RolloutRayActor.llm`` stand-in: ``generate`` is an async generator like vLLM's.

    ``respond(prompt_ids, sampling_params) -> (token_ids, finish_reason)``; each call yields a
    partial output first (with a real suspension) so siblings interleave as on a real engine.
    ``calls`` records ``(prompt_ids, sampling_params)``; ``prompt_logprob`` fills
    ``prompt_logprobs`` when ``sampling_params.prompt_logprobs`` is set.
    """

    def __init__(self, respond, prompt_logprob=None, delay: float = 0.0):
        self.respond, self.prompt_logprob, self.delay = respond, prompt_logprob, delay
        self.calls: list = []

    async def generate(self, prompt, sampling_params, request_id=None):
        ids = list(prompt["prompt_token_ids"])
        self.calls.append((ids, sampling_params))
        await asyncio.sleep(self.delay)
        plp = None
        if getattr(sampling_params, "prompt_logprobs", None) is not None:
            plp = [None] + [{t: SimpleNamespace(logprob=self.prompt_logprob(i, t))} for i, t in enumerate(ids) if i > 0]
            token_ids, finish = [ids[-1]], "length"
        else:
            token_ids, finish = self.respond(ids, sampling_params)
        yield Out(outputs=[Out(token_ids=token_ids[:1], text="", finish_reason=None, logprobs=None)], prompt_logprobs=None)
        await asyncio.sleep(0)
        yield Out(outputs=[Out(token_ids=list(token_ids), text="", finish_reason=finish, logprobs=None)],
                  prompt_logprobs=plp)


def make_rollout_actor(executor, llm):
    """A real ``RolloutRayActor`` (via ``__new__``; ``ray.remote`` is the identity here)."""
    from openrlhf.trainer.ray.vllm_engine import RolloutRayActor

    actor = RolloutRayActor.__new__(RolloutRayActor)
    actor.executor, actor.llm, actor._mm_pad_token_ids = executor, llm, None
    return actor


def make_args(n: int, *, estimator="group_norm", micro_batch_size=4, clip_range=(-10.0, 10.0), max_len=2048,
              overlong_buffer_len=None, max_new_tokens=None):
    """The slice of OpenRLHF's hierarchical args the rollout/advantage code reads."""
    return SimpleNamespace(
        rollout=SimpleNamespace(n_samples_per_prompt=n, micro_batch_size=micro_batch_size, max_new_tokens=max_new_tokens),
        algo=SimpleNamespace(advantage=SimpleNamespace(estimator=estimator, gamma=1.0, lambd=1.0, no_std_norm=False,
                                                       is_correction_level="off"),
                             kl=SimpleNamespace(use_loss=True, estimator="k1"), dynamic_filtering_range=(0.0, 1.0)),
        reward=SimpleNamespace(clip_range=clip_range, overlong_buffer_len=overlong_buffer_len,
                               overlong_penalty_factor=1.0, stop_properly_penalty_coef=None),
        train=SimpleNamespace(dynamic_batch_enable=False, colocate_all=False),
        data=SimpleNamespace(max_len=max_len),
    )


def make_experience_maker(args, pad_token_id: int = 0, kl_coef: float = 0.0):
    """A real ``RemoteExperienceMaker`` with no model groups (only the CPU-side methods are used)."""
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

    strategy = SimpleNamespace(args=args)
    return RemoteExperienceMaker(None, None, None, None, SimpleNamespace(value=kl_coef), strategy,
                                 SimpleNamespace(pad_token_id=pad_token_id))


class TinyTokenizer:
    """A reversible, deterministic word-piece tokenizer with the HF calls OpenRLHF and Polaris use.

    Pieces are special tokens, newlines, runs of spaces and runs of other characters; ids are
    assigned on first sight (a fixed vocabulary is pre-seeded so ids are stable). ``__call__``
    returns torch tensors for ``return_tensors="pt"`` like a HF tokenizer.
    """

    SPECIAL = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
    ADDED = ("<think>", "</think>")
    pad_token_id = 0
    unk_token_id = 1

    def __init__(self):
        import re

        alts = "|".join(re.escape(t) for t in self.SPECIAL + self.ADDED)
        self._re = re.compile(rf"({alts}|\n| +|[^\s<]+|<|\s)")
        self.vocab = {"<pad>": 0, "<unk>": 1}
        for t in self.SPECIAL + self.ADDED:
            self._id(t)
        self.inv = {v: k for k, v in self.vocab.items()}

    def _id(self, piece: str) -> int:
        if piece not in self.vocab:
            self.vocab[piece] = len(self.vocab)
            if hasattr(self, "inv"):
                self.inv[self.vocab[piece]] = piece
        return self.vocab[piece]

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [self._id(p) for p in self._re.findall(text)]

    def __call__(self, text, add_special_tokens=True, return_tensors=None, **_):
        ids = self.encode(text)
        if return_tensors == "pt":
            import torch

            return {"input_ids": torch.tensor([ids], dtype=torch.long)}
        return {"input_ids": ids}

    def decode(self, ids, skip_special_tokens=False, **_):
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        pieces = [self.inv.get(int(i), "<unk>") for i in ids]
        if skip_special_tokens:
            pieces = [p for p in pieces if p not in self.SPECIAL and p not in ("<pad>",)]
        return "".join(pieces)

    def convert_tokens_to_ids(self, token: str) -> int:
        return self.vocab.get(token, self.unk_token_id)
