"""Garbage collection in the reward service: settled at start-up, run between bursts.

A burst of a thousand samples keeps some 150,000 new objects alive at once (requests, judge
calls, answers). CPython collects the young generation after every N net new objects, and each
collection walks every live young object: with N = 50,000 that was three stalls of 10-55 ms in
the first half second of every burst of ``benchmarks/reward_throughput.py``, exactly while the
judge's slots were being filled, and more at every wave of answers. So the young threshold is set
far above a burst's size, and the collector runs when the service is idle instead: in GRPO the
reward service waits while the policy generates, and a collection then delays nobody. Under load
that never pauses, the high threshold still collects (rarely, but it bounds memory).
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Callable

__all__ = ["GC_THRESHOLDS", "IDLE_COLLECT_S", "MIN_YOUNG_OBJECTS", "IdleCollector", "settle_heap"]

#: (young, middle, old). CPython's default young threshold is 700.
GC_THRESHOLDS = (1_000_000, 20, 100)
#: Quiet time (no request and no judgment in flight) before an idle collection.
IDLE_COLLECT_S = 0.5
#: An idle collection runs only when at least this many objects were allocated since the last one
#: (a health probe alone does not trigger one).
MIN_YOUNG_OBJECTS = 10_000


def settle_heap(*, import_judge_sdk: bool) -> None:
    """Before serving: load the judge SDK now (not inside the first burst), move everything start-up
    built out of the collector's reach (``gc.freeze``), and raise the collection thresholds."""
    if import_judge_sdk:
        import openai  # noqa: F401

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class IdleCollector:
    """Runs ``gc.collect()`` once the service has been quiet for ``delay_s``.

    Call :meth:`quiet` whenever the last request in flight finishes; ``busy()`` is checked again
    when the timer fires, so work that arrived meanwhile cancels the collection (the next quiet
    moment re-arms it).
    """

    def __init__(self, busy: Callable[[], bool], *, delay_s: float = IDLE_COLLECT_S,
                 min_young: int = MIN_YOUNG_OBJECTS) -> None:
        self.busy = busy
        self.delay_s = delay_s
        self.min_young = min_young
        self.collections = 0
        self.seconds = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def quiet(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay_s, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self.busy() or gc.get_count()[0] < self.min_young:
            return
        t0 = time.perf_counter()
        gc.collect()
        self.seconds += time.perf_counter() - t0
        self.collections += 1

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
