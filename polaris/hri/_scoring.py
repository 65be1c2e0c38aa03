"""Client for the reward service's ``POST /v1/score`` used by the rollout executor.

One pooled aiohttp session per event loop, bounded concurrency, exponential backoff with
jitter, a stable idempotency key. A failure never raises: it returns ``ScoreResult(failed=True)``
and the trainer-side hook imputes the reward (see docs/hri.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
from dataclasses import dataclass, field

import aiohttp

__all__ = ["ScoreRequest", "ScoreResult", "ScoreClient", "idempotency_key"]

logger = logging.getLogger("polaris.hri.scoring")

# Retrying these can help; other 4xx mean the request itself is wrong.
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


def idempotency_key(label_id: str, is_reference: bool, response_token_ids: list[int]) -> str:
    """Stable across resends: the same row always maps to the same key."""
    h = hashlib.sha256()
    h.update(f"polaris-hri-v1|{label_id}|{int(is_reference)}|".encode())
    h.update(",".join(map(str, response_token_ids)).encode())
    return h.hexdigest()


@dataclass
class ScoreRequest:
    key: str
    id: str
    judge_prompt: str
    response: str
    target_words: int
    is_reference: bool
    response_tokens: int | None
    think_tokens: int | None
    truncated: bool
    split: str = "train"

    def as_item(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ScoreResult:
    failed: bool
    reward: float | None = None
    story_quality: float | None = None  # the judge's SQ; None when failed or never judged (floored, fixed)
    components: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    dimensions: dict = field(default_factory=dict)
    error: str = ""


class ScoreClient:
    """Async client; create it anywhere, it binds its session to the running loop on first use."""

    def __init__(self, base_url: str, *, token_env: str | None, timeout_s: float, retries: int, max_concurrency: int,
                 backoff_base_s: float = 2.0, backoff_cap_s: float = 60.0):
        self.url = base_url.rstrip("/") + "/v1/score"
        self.token_env = token_env
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.retries = retries
        self.max_concurrency = max_concurrency
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._loop = None
        self._session: aiohttp.ClientSession | None = None
        self._sem: asyncio.Semaphore | None = None

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token_env:
            token = os.environ.get(self.token_env)
            if token:
                headers["Authorization"] = f"Bearer {token}"
        return headers

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._session is None or self._session.closed:
            self._loop = loop
            # the pool sized to the semaphore: aiohttp's default of 100 connections would queue the
            # requests above it silently, their wait counted against the timeout
            self._session = aiohttp.ClientSession(timeout=self.timeout,
                                                  connector=aiohttp.TCPConnector(limit=self.max_concurrency))
            self._sem = asyncio.Semaphore(self.max_concurrency)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def score(self, req: ScoreRequest) -> ScoreResult:
        """Score one row. Never raises for service or network trouble."""
        self._bind()
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                async with self._sem:
                    async with self._session.post(self.url, json={"items": [req.as_item()]}, headers=self._headers()) as r:
                        if r.status != 200:
                            body = (await r.text())[:300]
                            last = f"HTTP {r.status}: {body}"
                            if r.status not in _RETRY_STATUS:
                                break
                            raise _Retry(last)
                        data = await r.json()
                return _parse(data, req.key)
            except _Retry:
                pass
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
                last = f"{type(e).__name__}: {e}"
            if attempt < self.retries:
                delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
        logger.error("reward service %s failed for row %s (id %s) after %d attempt(s): %s",
                     self.url, req.key[:12], req.id, self.retries, last)
        return ScoreResult(failed=True, error=last)


class _Retry(Exception):
    pass


def _parse(data: object, key: str) -> ScoreResult:
    try:
        results = data["results"]  # type: ignore[index]
        match = [r for r in results if r.get("key") == key]
        res = match[0] if match else (results[0] if len(results) == 1 else None)
    except (KeyError, TypeError, IndexError, AttributeError):
        res = None
    if res is None:
        return ScoreResult(failed=True, error=f"malformed /v1/score response: {str(data)[:200]}")
    reward = res.get("reward")
    if res.get("failed") or reward is None:
        return ScoreResult(failed=True, components=res.get("components") or {}, flags=res.get("flags") or {},
                           dimensions=res.get("dimensions") or {}, error="judge failed (service reported failure)")
    sq = res.get("story_quality")
    return ScoreResult(failed=False, reward=float(reward), components=res.get("components") or {},
                       flags=res.get("flags") or {}, dimensions=res.get("dimensions") or {},
                       story_quality=float(sq) if isinstance(sq, (int, float)) and not isinstance(sq, bool) else None)
