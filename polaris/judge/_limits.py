"""Async token buckets for requests-per-minute and tokens-per-minute limits.

Client-side limits keep a run below the provider's quota, so 429s stay rare and retries do not
pile up. Waiters are served in arrival order (one lock), which keeps latency fair under load.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["TokenBucket"]


class TokenBucket:
    """A token bucket refilled at ``per_minute / 60`` tokens per second, holding at most ``burst``.

    ``acquire(n)`` waits until ``n`` tokens are available and takes them. A request larger than
    the burst waits for a full bucket and then takes everything (it can never fit otherwise).
    ``adjust(delta)`` corrects an estimate afterwards (negative balances are allowed: debt).
    """

    def __init__(self, per_minute: float, burst: float | None = None, clock=time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        # Default burst: one second's worth (at least one request), strict but never starved.
        self.capacity = float(burst) if burst is not None else max(1.0, self.rate)
        self._tokens = self.capacity
        self._clock = clock
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, amount: float = 1.0) -> float:
        """Take ``amount`` tokens, waiting as needed. Returns the seconds waited."""
        amount = min(float(amount), self.capacity)
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= amount:
                    self._tokens -= amount
                    return waited
                delay = (amount - self._tokens) / self.rate
                await asyncio.sleep(delay)
                waited += delay

    def adjust(self, delta: float) -> None:
        """Give back (positive) or charge (negative) tokens after the real cost is known."""
        self._refill()
        self._tokens = min(self.capacity, self._tokens + delta)
