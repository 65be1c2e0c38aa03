"""Prometheus text-format metrics of the reward service (no client library needed)."""

from __future__ import annotations

import bisect
from collections import defaultdict

__all__ = ["Metrics"]

_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class Metrics:
    """Counters, gauges and one latency histogram, rendered as Prometheus exposition text."""

    def __init__(self) -> None:
        self.counters: dict[str, float] = defaultdict(float)
        self.gauges: dict[str, float] = defaultdict(float)
        self._hist = [0] * (len(_BUCKETS) + 1)
        self._hist_sum = 0.0
        self._hist_count = 0

    def inc(self, name: str, value: float = 1.0) -> None:
        self.counters[name] += value

    def observe_latency(self, seconds: float) -> None:
        self._hist[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self._hist_sum += seconds
        self._hist_count += 1

    def render(self) -> str:
        out: list[str] = []
        for name in sorted(self.counters):
            full = f"polaris_reward_{name}_total"
            out += [f"# TYPE {full} counter", f"{full} {self.counters[name]:g}"]
        for name in sorted(self.gauges):
            full = f"polaris_reward_{name}"
            out += [f"# TYPE {full} gauge", f"{full} {self.gauges[name]:g}"]
        h = "polaris_reward_judge_latency_seconds"
        out.append(f"# TYPE {h} histogram")
        acc = 0
        for edge, n in zip(_BUCKETS, self._hist):
            acc += n
            out.append(f'{h}_bucket{{le="{edge:g}"}} {acc}')
        out.append(f'{h}_bucket{{le="+Inf"}} {self._hist_count}')
        out += [f"{h}_sum {self._hist_sum:g}", f"{h}_count {self._hist_count}"]
        return "\n".join(out) + "\n"
