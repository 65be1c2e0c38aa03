"""``polaris score``: score a JSONL of responses offline with the recipe's reward."""

from __future__ import annotations

import sys

import click


@click.command("score")
@click.argument("source", type=click.Path(exists=True))
@click.argument("in_path", metavar="IN.jsonl", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Output JSONL (appended; ids already in it are skipped, so a rerun resumes).")
@click.option("--judge", "judge_mode", type=click.Choice(["config", "none"]), default="config", show_default=True,
              help="'none' computes deterministic components only (story_quality null, reward null when it needs SQ).")
@click.option("--judge-url", default=None, help="Override the judge endpoint base URL.")
@click.option("--judge-model", default=None, help="Override the judge model name.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Override judge.concurrency.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None,
              help="Judgment cache directory (default: OUT.jsonl.state next to the output).")
@click.option("--no-progress", is_flag=True, help="Do not draw the progress bar on stderr.")
def command(source: str, in_path: str, out_path: str, judge_mode: str, judge_url: str | None,
            judge_model: str | None, concurrency: int | None, state_dir: str | None, no_progress: bool) -> None:
    """Score IN.jsonl (rows: id, prompt, response, target_words?) with SOURCE's reward (recipe or run dir)."""
    from polaris.service._offline import MixedJudgeOutput, score_file

    from ._common import service_config_or_fail

    cfg = service_config_or_fail(source, judge_url=judge_url, judge_model=judge_model, concurrency=concurrency,
                                 overrides=judge_mode != "none")
    if judge_mode != "none" and cfg.judge is None:
        click.echo("error: the configuration has no judge; pass --judge none or --judge-model/--judge-url", err=True)
        sys.exit(2)
    try:
        summary = score_file(cfg, in_path, out_path, use_judge=judge_mode != "none", state_dir=state_dir,
                             show_progress=not no_progress)
    except MixedJudgeOutput as e:
        raise click.UsageError(str(e)) from None
    for err in summary.bad_rows:
        click.echo(f"bad row: {err}", err=True)
    click.echo(
        f"{summary.written} rows written to {out_path} ({summary.skipped_done} already done, "
        f"{len(summary.bad_rows)} bad rows, {summary.failed} judge failures, {summary.imputed} imputed, "
        f"judge cost ${summary.cost_usd:.4f})", err=True)
    sys.exit(1 if summary.bad_rows or summary.failed else 0)
