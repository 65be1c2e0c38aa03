"""Garbage collection in the reward service: settled at start-up, run between bursts.

A burst of a thousand samples keeps some 150,000 new objects alive at once (requests, judge
calls, answers). CPython collects the young generation after every N net new objects, and each
collection walks every live young object: with N = 50,000 that was three stalls of 10-55 ms in
the first half second of every burst of ``benchmarks/reward_throughput.py``, exactly while the
judge's slots were being filled, and more at every wave of answers. So the young threshold is set
far above a burst's size, and the collector runs when the service is idle instead: in GRPO the
reward service waits while the policy generates, and a collection then delays nobody. Under load
that never pauses (several trainers, asynchronous training), a backstop collects at most every
``BACKSTOP_S`` once ``BACKSTOP_YOUNG`` objects have piled up: during a judge outage every failed
call leaves ~400 objects in reference cycles, which only the collector frees.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Callable

__all__ = ["GC_THRESHOLDS", "IDLE_COLLECT_S", "MIN_YOUNG_OBJECTS", "BACKSTOP_S", "BACKSTOP_YOUNG", "IdleCollector",
           "settle_heap"]

#: (young, middle, old). CPython's default young threshold is 700.
GC_THRESHOLDS = (1_000_000, 20, 100)
#: Quiet time (no request and no judgment in flight) before an idle collection.
IDLE_COLLECT_S = 0.5
#: An idle collection runs only when at least this many objects were allocated since the last one
#: (a health probe alone does not trigger one).
MIN_YOUNG_OBJECTS = 10_000
#: Under load that never pauses: a collection once this long has passed since the last one ...
BACKSTOP_S = 30.0
#: ... and at least this many objects were allocated since.
BACKSTOP_YOUNG = 100_000


def settle_heap(*, import_judge_sdk: bool) -> None:
    """Before serving: load the judge SDK now (not inside the first burst), move everything start-up
    built out of the collector's reach (``gc.freeze``), and raise the collection thresholds."""
    if import_judge_sdk:
        import openai  # noqa: F401

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class IdleCollector:
    """Runs ``gc.collect()`` once the service has been quiet for ``delay_s``, and as a backstop.

    Call :meth:`quiet` whenever the last request in flight finishes; ``busy()`` is checked again
    when the timer fires, so work that arrived meanwhile cancels the collection (the next quiet
    moment re-arms it). Call :meth:`tick` whenever any request finishes (the backstop).
    """

    def __init__(self, busy: Callable[[], bool], *, delay_s: float = IDLE_COLLECT_S,
                 min_young: int = MIN_YOUNG_OBJECTS, backstop_s: float = BACKSTOP_S,
                 backstop_young: int = BACKSTOP_YOUNG) -> None:
        self.busy = busy
        self.delay_s = delay_s
        self.min_young = min_young
        self.backstop_s = backstop_s
        self.backstop_young = backstop_young
        self.collections = 0
        self.backstop_collections = 0
        self.seconds = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._last = time.monotonic()

    def quiet(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay_s, self._fire)

    def tick(self) -> None:
        if time.monotonic() - self._last >= self.backstop_s and gc.get_count()[0] >= self.backstop_young:
            self._collect()
            self.backstop_collections += 1

    def _fire(self) -> None:
        self._timer = None
        if self.busy() or gc.get_count()[0] < self.min_young:
            return
        self._collect()
        self.collections += 1

    def _collect(self) -> None:
        t0 = time.perf_counter()
        gc.collect()
        self.seconds += time.perf_counter() - t0
        self._last = time.monotonic()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
