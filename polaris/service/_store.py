"""Persistent judgment store (SQLite, WAL) and the JSONL audit log.

A finished judgment is committed before its result is returned, so after a crash (even
``kill -9``) a re-sent request finds it and nothing finished is paid twice. Failed judgments are
not stored: a later request retries them. WAL + ``synchronous=NORMAL`` survives process crashes
(only an OS crash can lose the last transactions), and keeps writes cheap enough to do inline.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from polaris.judge._types import Judgment

__all__ = ["JudgmentStore", "AuditLog", "judgment_key"]


def judgment_key(identity: str, judge_prompt: str, story: str) -> str:
    """sha256 over judge identity (models, rubric hash, combine rule), judge prompt and story."""
    h = hashlib.sha256()
    for part in (identity, judge_prompt, story):
        b = part.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "big"))  # length-prefixed: no ambiguity between fields
        h.update(b)
    return h.hexdigest()


class JudgmentStore:
    """``key -> Judgment`` on disk. Thread-safe; each call is one short transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, identity TEXT NOT NULL, "
            "value REAL, payload TEXT NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> Judgment | None:
        with self._lock:
            row = self._db.execute("SELECT payload FROM judgments WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        j = Judgment.from_dict(json.loads(row[0]))
        j.cached = True
        return j

    def put(self, key: str, identity: str, judgment: Judgment) -> None:
        if judgment.failed:
            return  # failures are retried by later requests, never cached
        payload = json.dumps(judgment.to_dict(), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judgments (key, identity, value, payload, created) VALUES (?, ?, ?, ?, ?)",
                (key, identity, judgment.value, payload, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()


class AuditLog:
    """Append-only JSONL: one line per judgment made (not per cache hit). No secrets are ever written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, key: str, sample_id: str | None, judgment: Judgment, extra: dict[str, Any] | None = None) -> None:
        rec = {
            "time": time.time(),
            "key": key,
            "id": sample_id,
            "value": judgment.value,
            "failed": judgment.failed,
            "failure_reason": judgment.failure_reason,
            "dimensions": judgment.per_dimension,
            "rationale": judgment.rationale,
            "flags": judgment.flags,
            "fabricated_quotes": judgment.fabricated_quotes,
            "latency_s": round(judgment.latency_s, 4),
            "prompt_tokens": judgment.prompt_tokens,
            "completion_tokens": judgment.completion_tokens,
            "cost_usd": judgment.cost_usd,
            "attempts": judgment.attempts,
            "members": [
                {"model": m.model, "value": m.value, "failed": m.failed, "failure_reason": m.failure_reason,
                 "latency_s": round(m.latency_s, 4), "attempts": m.attempts, "reasks": m.reasks}
                for m in judgment.members
            ],
        }
        if extra:
            rec.update(extra)
        line = json.dumps(rec, ensure_ascii=False, default=str)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()
