"""The pre-encoded request body is the body the SDK would encode, in both structured-output modes."""

from __future__ import annotations

import json

from judge_helpers import judge_cfg
from openai._utils._json import openapi_dumps

from polaris.judge._backend import Backend


def _sdk_bytes(backend: Backend, msgs: list[dict[str, str]], schema: dict) -> bytes:
    body, options = backend._request_parts(msgs, schema)
    return openapi_dumps({**body, **options.get("extra_json", {})})


def test_encoded_body_matches_sdk_encoding_and_follows_format_switch():
    url = "http://127.0.0.1:9/v1"
    cfg = judge_cfg(url, backend={"base_url": url, "model": "m", "extra_body": {"top_k": 20}})
    backend = Backend(cfg.members()[0], cfg)
    schema = {"type": "object", "properties": {"s": {"type": "integer"}}}
    for mode in ("json_schema", "json_object"):
        backend.format_mode = mode
        for text in ("plain", 'quotes " and \\ and ünïcödé\n', "\x00polaris-messages\x00"):
            msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": text}]
            body, options = backend._encoded_request(msgs, schema)
            assert body == _sdk_bytes(backend, msgs, schema)
            assert options == {"security": {"bearer_auth": True}}
        assert json.loads(body)["response_format"]["type"] == mode
