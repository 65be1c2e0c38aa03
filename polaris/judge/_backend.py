"""One judge endpoint: a shared ``AsyncOpenAI`` client, limits, structured-output fallback, retries.

Retries belong to tenacity, not the SDK (``max_retries=0``), so there is one policy in one
place: 429 (honouring Retry-After), 5xx, timeouts and connection errors are retried with
jittered exponential backoff; any other 4xx fails at once (a bad request stays bad). The
concurrency slot is held only while a request is on the wire, never during a backoff sleep.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Any

from polaris.judge._body import encode_body
from polaris.judge._limits import TokenBucket
from polaris.judge._slots import Slots
from polaris.judge._types import JudgeCallError
from polaris.schema.judge import JudgeBackend, JudgeConfig

__all__ = ["Backend", "Completion"]

log = logging.getLogger("polaris.judge")

_FORMAT_WORDS = ("response_format", "json_schema", "schema")


@dataclass
class Completion:
    """The text of one successful call and its accounting."""

    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int


class _Retryable(Exception):
    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(exc: Any) -> float | None:
    """Seconds to wait from a response's Retry-After (delta-seconds or an HTTP date), or None."""
    resp = getattr(exc, "response", None)
    value = resp.headers.get("retry-after") if resp is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: our own backoff applies
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _http_lib() -> Any:
    """The HTTP library module the SDK is built on (``httpx2`` or ``httpx``)."""
    import openai._base_client as base

    return getattr(base, "httpx2", None) or getattr(base, "httpx")


def _httpx_response() -> type:
    """The response class of the HTTP library the SDK is built on (``cast_to`` for raw responses)."""
    return _http_lib().Response


def _refused_or_dropped(exc: BaseException) -> bool:
    """True when a connection was refused or dropped (not a timeout) somewhere in ``exc``'s causes.

    The SDK's aiohttp transport maps every aiohttp connection error to a connect *timeout*; the
    reason recorded for a failed call stays what it was with httpx: ``connection``.
    """
    import aiohttp

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, aiohttp.ClientConnectionError) and not isinstance(e, asyncio.TimeoutError):
            return True
        e = e.__cause__ or e.__context__
    return False


def _http_client(timeout_s: float, connections: int) -> Any:
    """The SDK's aiohttp transport: at hundreds of calls in flight, httpx's default transport costs
    several times more CPU per call (its pool scans every connection on each request).

    The pool is sized to the configured concurrency: the SDK's default of 1,000 connections would
    silently queue the calls above it, their wait counted against the call timeout.
    """
    import openai

    limits = _http_lib().Limits(max_connections=connections, max_keepalive_connections=connections)
    try:
        return openai.DefaultAioHttpClient(timeout=timeout_s, limits=limits)
    except (AttributeError, RuntimeError):  # the SDK lacks its aiohttp transport: its default one
        return openai.DefaultAsyncHttpxClient(timeout=timeout_s, limits=limits)


class Backend:
    """Calls one OpenAI-compatible endpoint. Create once per endpoint and share it."""

    def __init__(self, backend: JudgeBackend, cfg: JudgeConfig) -> None:
        self.backend = backend
        self.cfg = cfg
        # 'auto' starts with json_schema and switches for good on the first rejection.
        self.format_mode = "json_schema" if cfg.structured_output in ("auto", "json_schema") else "json_object"
        self._client: Any = None
        self._client_key: str | None = None
        self._slots = Slots(cfg.concurrency)
        self._rpm = TokenBucket(cfg.requests_per_minute) if cfg.requests_per_minute else None
        self._tpm = (
            TokenBucket(cfg.tokens_per_minute, burst=cfg.tokens_per_minute) if cfg.tokens_per_minute else None
        )
        self.in_flight = 0
        self.http_calls = 0
        # (format mode, id(schema)) -> (schema, response_format object, its JSON): the same object
        # goes into every request, so its encoding is made once (see polaris.judge._body)
        self._formats: dict[tuple[str, int], tuple[Any, dict[str, Any], bytes | None]] = {}

    @property
    def name(self) -> str:
        return f"{self.backend.model}@{self.backend.base_url}"

    def _api_key(self) -> str:
        env = self.backend.api_key_env
        if env is None:
            return "unused"  # local servers ignore it; the SDK insists on some value
        key = os.environ.get(env)
        if not key:
            raise JudgeCallError(
                "missing_api_key",
                f"judge {self.backend.model}: environment variable {env} (judge api_key_env) is not set",
            )
        return key

    def _get_client(self) -> Any:
        key = self._api_key()  # read at call time: a rotated key takes effect on the next call
        if self._client is None or key != self._client_key:
            from openai import AsyncOpenAI

            old, self._client = self._client, AsyncOpenAI(
                base_url=self.backend.base_url, api_key=key, max_retries=0, timeout=self.cfg.timeout_s,
                http_client=_http_client(self.cfg.timeout_s, self.cfg.concurrency),
            )
            self._client_key = key
            if old is not None:  # let in-flight calls on the old client finish; close it later
                asyncio.get_running_loop().call_later(self.cfg.timeout_s + 5, lambda: asyncio.ensure_future(old.close()))
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _format_entry(self, schema: dict[str, Any]) -> tuple[Any, dict[str, Any], bytes | None]:
        key = (self.format_mode, id(schema))
        hit = self._formats.get(key)
        if hit is None or hit[0] is not schema:
            if self.format_mode == "json_schema":
                fmt = {"type": "json_schema", "json_schema": {"name": "judgment", "strict": True, "schema": schema}}
            else:
                fmt = {"type": "json_object", "schema": schema}  # llama.cpp's extension
            try:
                encoded: bytes | None = encode_body(fmt)
            except (TypeError, ValueError):  # not plain JSON: the SDK's encoder takes the whole body
                encoded = None
            hit = self._formats[key] = (schema, fmt, encoded)
        return hit

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        return self._format_entry(schema)[1]

    def _request(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> dict[str, Any]:
        s = self.cfg.sampling
        req: dict[str, Any] = {
            "model": self.backend.model,
            "messages": messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "response_format": self._response_format(schema),
        }
        if s.reasoning_effort != "none":
            req["reasoning_effort"] = s.reasoning_effort
            req["max_completion_tokens"] = s.max_tokens  # reasoning models reject max_tokens
        else:
            req["max_tokens"] = s.max_tokens
        if s.seed is not None:
            req["seed"] = s.seed
        if self.backend.extra_body:
            req["extra_body"] = dict(self.backend.extra_body)
        return req

    def _request_parts(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """``_request`` as (JSON body, SDK request options), the way ``create(**_request(...))`` sends it."""
        body = self._request(messages, schema)
        # exactly the options create() passes: the API key as bearer token and nothing else
        options: dict[str, Any] = {"security": {"bearer_auth": True}}
        extra = body.pop("extra_body", None)
        if extra is not None:
            options["extra_json"] = extra
        return body, options

    def _wire_body(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments for ``client.post``: the body already encoded (``content``), with
        extra_body merged as the SDK merges it (its keys win); or, when a value is not plain JSON
        (which the SDK's encoder may still handle), the body and options ``_request_parts`` gives."""
        body, options = self._request_parts(messages, schema)
        extra = options.get("extra_json")
        merged = {**body, **extra} if extra is not None else body
        _, fmt, encoded = self._format_entry(schema)
        try:
            if encoded is None:
                raise TypeError("response format is not plain JSON")
            content = encode_body(merged, {id(fmt): (fmt, encoded)})
        except (TypeError, ValueError):
            return {"body": body, "options": options}
        return {"content": content, "options": {"security": options["security"]}}

    async def _once(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> Any:
        """One HTTP call (plus at most one json_object re-issue); maps errors to retryable or final."""
        import openai

        client = self._get_client()
        est_tokens = sum(len(m["content"]) for m in messages) // 4 + self.cfg.sampling.max_tokens
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None:
            await self._tpm.acquire(est_tokens)
        await self._slots.acquire()
        self.in_flight += 1
        try:
            for _ in range(2):
                self.http_calls += 1
                try:
                    # client.post() is the SDK's documented call for a raw endpoint: the same
                    # request as chat.completions.create() (tested), without create()'s type-driven
                    # walk over the 30 kB of messages nor pydantic parsing of the answer, which
                    # cost more CPU than the rest of a judgment at hundreds of calls per second
                    wire = self._wire_body(messages, schema)
                    # asyncio.timeout, not wait_for: wait_for (3.11) wraps the call in a new task,
                    # which reaches the wire only after everything already queued on the loop
                    async with asyncio.timeout(self.cfg.timeout_s):
                        raw = await client.post("/chat/completions", cast_to=_httpx_response(), **wire)
                    resp = json.loads(raw.content)
                except openai.APIStatusError as e:
                    text = str(e).lower()
                    if (
                        self.cfg.structured_output == "auto"
                        and self.format_mode == "json_schema"
                        and e.status_code in (400, 415, 422, 500, 501)
                        and any(w in text for w in _FORMAT_WORDS)
                    ):
                        log.warning("judge %s rejects response_format json_schema; using json_object+schema",
                                    self.name)
                        self.format_mode = "json_object"
                        continue
                    raise
                if not isinstance(resp, dict):
                    raise _Retryable("bad_response", f"judge {self.name}: response is not a JSON object")
                usage = resp.get("usage") or {}
                if self._tpm is not None and usage:
                    self._tpm.adjust(est_tokens - int(usage.get("total_tokens") or est_tokens))
                return resp
            raise JudgeCallError("format_rejected", f"judge {self.name} rejected both structured-output forms")
        except json.JSONDecodeError as e:
            raise _Retryable("bad_response", f"judge {self.name}: 200 response is not JSON") from e
        except asyncio.TimeoutError as e:
            raise _Retryable("timeout", f"judge {self.name}: no answer within {self.cfg.timeout_s}s") from e
        except openai.APITimeoutError as e:
            if _refused_or_dropped(e):  # the aiohttp transport reports these as timeouts
                raise _Retryable("connection", f"judge {self.name}: connection error: Connection error.") from e
            raise _Retryable("timeout", f"judge {self.name}: request timed out") from e
        except openai.APIConnectionError as e:
            raise _Retryable("connection", f"judge {self.name}: connection error: {e}") from e
        except openai.RateLimitError as e:
            raise _Retryable("http_429", f"judge {self.name}: rate limited (429)", _retry_after(e)) from e
        except openai.APIStatusError as e:
            if e.status_code >= 500 or e.status_code in (408, 409):
                raise _Retryable(f"http_{e.status_code}", f"judge {self.name}: HTTP {e.status_code}",
                                 _retry_after(e)) from e
            raise JudgeCallError(f"http_{e.status_code}",
                                 f"judge {self.name}: HTTP {e.status_code} (not retried): {e.message}") from e
        finally:
            self.in_flight -= 1
            self._slots.release()

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        r = self.cfg.retries
        base = min(r.max_backoff_s, r.initial_backoff_s * (2 ** (attempt - 1)))
        wait = base + random.uniform(0.0, r.jitter_s)
        if retry_after is not None and r.honor_retry_after:
            wait = max(wait, min(retry_after, r.max_backoff_s))
        return wait

    async def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> Completion:
        """Call the endpoint with retries; raises :class:`JudgeCallError` when it fails for good."""
        from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt

        def wait(state: Any) -> float:
            exc = state.outcome.exception()
            return self._wait(state.attempt_number, getattr(exc, "retry_after", None))

        t0 = time.monotonic()
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.cfg.retries.max_attempts),
                wait=wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=False,
            ):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    resp = await self._once(messages, schema)
        except RetryError as e:
            last = e.last_attempt.exception()
            raise JudgeCallError(getattr(last, "reason", "retries_exhausted"),
                                 f"{last} (gave up after {attempts} attempts)", attempts) from None
        except JudgeCallError as e:
            e.attempts = attempts
            raise
        latency = time.monotonic() - t0  # the call's, not the send-first hold's
        await self._slots.hold()  # send first (polaris.judge._slots)
        choices = resp.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        content = (choice.get("message") or {}).get("content") or ""
        usage = resp.get("usage") or {}
        return Completion(
            content=content if isinstance(content, str) else json.dumps(content),
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_s=latency,
            attempts=attempts,
        )

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for the given token counts at this endpoint's configured prices."""
        b = self.backend
        return (prompt_tokens * b.input_cost_per_mtok + completion_tokens * b.output_cost_per_mtok) / 1e6
