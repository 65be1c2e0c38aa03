"""``polaris serve-reward``: run the reward service (OpenRLHF /get_reward + polaris /v1/score)."""

from __future__ import annotations

import sys

import click


@click.command("serve-reward")
@click.argument("source", type=click.Path(exists=True))
@click.option("--state-dir", type=click.Path(file_okay=False), default=None,
              help="Directory for the judgment store (SQLite) and audit log. Default: SOURCE_DIR/reward_state.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback requires a bearer token (see --token-env).")
@click.option("--port", type=click.IntRange(1, 65535), default=8731, show_default=True)
@click.option("--token-env", default="POLARIS_REWARD_TOKEN", show_default=True,
              help="NAME of the environment variable holding the bearer token clients must send.")
@click.option("--judge", "judge_mode", type=click.Choice(["config", "none"]), default="config", show_default=True,
              help="'none' serves deterministic components only (story_quality null).")
@click.option("--judge-url", default=None, help="Override the judge endpoint base URL.")
@click.option("--judge-model", default=None, help="Override the judge model name.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Override judge.concurrency.")
def command(source: str, state_dir: str | None, host: str, port: int, token_env: str, judge_mode: str,
            judge_url: str | None, judge_model: str | None, concurrency: int | None) -> None:
    """Serve rewards for SOURCE: a run directory (with reward_service.json), that file, or a recipe YAML."""
    import logging
    from pathlib import Path

    from polaris.service._run import ServiceError, run_service

    from ._common import service_config_or_fail

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2", "httpcore", "openai"):  # one INFO line per judge call is noise and CPU
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = service_config_or_fail(source, judge_url=judge_url, judge_model=judge_model, concurrency=concurrency)
    src = Path(source)
    sd = Path(state_dir) if state_dir else (src if src.is_dir() else src.parent) / "reward_state"
    try:
        run_service(cfg, sd, host=host, port=port, token_env=token_env, use_judge=judge_mode != "none")
    except ServiceError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except OSError as e:
        click.echo(f"error: cannot serve on {host}:{port}: {e}", err=True)
        sys.exit(1)
