"""The judge endpoint's concurrency slots, handed on send-first.

At a wave of answers, each answer frees a slot for a queued call. Parsing, scoring and storing
an answer can wait a moment; sending the queued call cannot (the endpoint would sit idle). Two
holds order the work:

1. *hand-off*: a finished call holds its post-processing until every slot released to a waiting
   call has been taken, and the taker runs straight to the wire in the same loop step;
2. *wave*: while calls still wait for slots, answers keep arriving, each freeing a slot. The
   post-processing of the answers already in waits until the arrivals pause (``WAVE_QUIET_S``
   without a released slot) or ``WAVE_HOLD_MAX_S`` has passed, so that every arrival finds the
   event loop free to send its successor. Otherwise each answer's post-processing (about as much
   CPU as a send) runs between arrivals, the queue of arrivals grows across the wave, and every
   later wave of calls starts later (``benchmarks/reward_throughput.py``).

A call that waits for nothing (no call queued behind it) is never held.
"""

from __future__ import annotations

import asyncio
import collections

__all__ = ["Slots", "WAVE_QUIET_S", "WAVE_HOLD_MAX_S"]

#: A pause between released slots this long ends a wave of answers.
WAVE_QUIET_S = 0.02
#: The longest an answer's post-processing waits for its wave to pass.
WAVE_HOLD_MAX_S = 0.25


class Slots:
    """``concurrency`` slots for calls on the wire, with the two holds above."""

    def __init__(self, concurrency: int) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        self.waiting = 0  # calls blocked on the semaphore
        self.handoffs = 0  # slots released to waiting calls but not yet taken
        self._sends_done = asyncio.Event()  # set when no hand-off is pending
        self._last_release = float("-inf")
        self._held: collections.deque[tuple[float, asyncio.Future[None]]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def _send_pending(self) -> bool:
        if self.waiting == 0:
            self.handoffs = 0  # nobody left to take a released slot (e.g. a waiter was cancelled)
        return self.handoffs > 0

    async def acquire(self) -> None:
        waited = self._sem.locked()
        if waited:
            self.waiting += 1
        try:
            await self._sem.acquire()
        finally:
            if waited:
                self.waiting -= 1
                if self.handoffs:
                    self.handoffs -= 1
            if not self._send_pending():
                self._sends_done.set()

    def release(self) -> None:
        if self.waiting > self.handoffs:
            self.handoffs += 1  # a waiter will be woken for this slot
            self._sends_done.clear()
        self._last_release = asyncio.get_running_loop().time()
        self._sem.release()

    async def hold(self) -> None:
        """Call after a call's slot was released, before its answer is processed (see above)."""
        if self._send_pending():
            while self._send_pending():
                await self._sends_done.wait()
            # the taker's request body goes out in a task of its own (aiohttp on Python < 3.12):
            # queue behind it
            await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        if self.waiting == 0 or loop.time() - self._last_release >= WAVE_QUIET_S:
            return
        done: asyncio.Future[None] = loop.create_future()
        self._held.append((loop.time() + WAVE_HOLD_MAX_S, done))
        self._arm(loop)
        await done

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        when = min(self._held[0][0], self._last_release + WAVE_QUIET_S)
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()
        self._timer = loop.call_at(when, self._wake, loop)

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let go of the held answers whose wave has passed, or whose longest wait is over."""
        self._timer = None
        now = loop.time()
        passed = self.waiting == 0 or now - self._last_release >= WAVE_QUIET_S
        while self._held and (passed or self._held[0][0] <= now):
            _, done = self._held.popleft()
            if not done.done():  # a cancelled holder's future is done already
                done.set_result(None)
        if self._held:
            self._arm(loop)
