"""Helpers for the driver tests (no tests here): a tokenizer built on the spot and tiny bundles."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SPECIALS = ["<|im_start|>", "<|im_end|>", "<think>", "</think>"]

# A Qwen-like template: with enable_thinking false the generation prompt carries an empty think block.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}{{ '\\n' }}{{ m.content }}<|im_end|>{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant{{ '\\n' }}"
    "{% if enable_thinking is defined and not enable_thinking %}<think>{{ '\\n\\n' }}</think>{{ '\\n\\n' }}{% endif %}"
    "{% endif %}"
)


def make_tokenizer(where: Path) -> Path:
    """A word-level tokenizer (one token per word or punctuation run; specials are single tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = "write a story about the sea your should be approximately words long aim for".split()
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(dict.fromkeys(words))}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", eos_token="<|im_end|>",
                                  additional_special_tokens=SPECIALS)
    tok.chat_template = CHAT_TEMPLATE
    where.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(where))
    return where


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def row_spec(**over: Any) -> dict[str, Any]:
    from polaris.data import RowSpec

    base = dict(hri_enabled=True, missing_references="error", length_mode="append",
                templates=("Your story should be approximately {target_words} words long.",))
    base.update(over)
    return RowSpec(**base).to_dict()


SERVICE = '''
import sys, http.server, pathlib
port = int(sys.argv[1])
if len(sys.argv) > 2:  # {state_dir}: leave a mark where the real service keeps its store and audit log
    pathlib.Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(sys.argv[2]) / "audit.jsonl").write_text("")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'''

RECORDER = '''
import json, os, sys
out = {"argv": sys.argv, "cwd": os.getcwd(), "reward_url": os.environ.get("POLARIS_REWARD_SERVICE_URL")}
open(os.environ.get("RECORD_TO", "recorded.json"), "w").write(json.dumps(out))
'''


def make_bundle(root: Path, tokenizer: Path, *, sources: dict[str, Any], spec: dict[str, Any],
                thinking: bool = False, max_prompt_tokens: int = 64, max_new_tokens: int = 64,
                port: int = 0, argv: list[str] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """A bundle with driver.json, job.json, openrlhf_argv.json and a trivial reward service script."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fake_service.py").write_text(SERVICE)
    driver = {
        "model": {"policy": str(tokenizer), "thinking": thinking, "chat_template": "model", "system_prompt": None,
                  "end_of_turn_token": "<|im_end|>", "trust_remote_code": False},
        "max_prompt_tokens": max_prompt_tokens,
        "max_new_tokens": max_new_tokens,
        "sources": sources,
        "row_spec": spec,
        "overlong_references": spec.get("overlong_references", "drop"),
        "hri_enabled": spec.get("hri_enabled", False),
        "rendered": {"train": "data/train.rendered.jsonl", "eval": "data/eval.rendered.jsonl"},
        "reward_service": {"port": port, "state_dir": "state/reward", "token_env": None, "bind": "127.0.0.1",
                           "command": [sys.executable, str(root / "fake_service.py"), "{port}"]},
        "env": {"POLARIS_EXECUTOR_CONFIG": "polaris_executor.json"},
    }
    driver.update(extra or {})
    (root / "driver.json").write_text(json.dumps(driver, indent=2))
    (root / "openrlhf_argv.json").write_text(json.dumps(argv or ["--data.prompt_dataset", "data/train.rendered.jsonl"]))
    (root / "job.json").write_text(json.dumps({
        "entrypoint": "python -m polaris.engine.openrlhf.driver --bundle .",
        "run_dir_arg": "--run-dir",
        "runtime_env": {"working_dir": ".", "env_vars": {"POLARIS_EXECUTOR_CONFIG": "polaris_executor.json"}},
        "forward_env": [],
    }))
    return root


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def install_recorder(tmp_path: Path, monkeypatch: Any) -> Path:
    """Make `polaris_test_recorder` (RECORDER) importable as a train module; returns the file it records to."""
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "polaris_test_recorder.py").write_text(RECORDER)
    monkeypatch.syspath_prepend(str(mods))
    record = tmp_path / "record.json"
    monkeypatch.setenv("RECORD_TO", str(record))
    return record
