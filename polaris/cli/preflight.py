"""``polaris preflight``: judge a few items of a recipe's data before a run; forecast its judge cost."""

from __future__ import annotations

import sys

import click


@click.command("preflight")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@click.option("-n", "n", type=click.IntRange(min=1), default=8, show_default=True, help="Data items to judge.")
@click.option("--policy-url", default=None,
              help="OpenAI-compatible endpoint serving the policy; adds policy samples and their spread.")
@click.option("--policy-model", default="policy", show_default=True, help="Model name at --policy-url.")
@click.option("--judge-url", default=None, help="Override the judge endpoint base URL.")
@click.option("--judge-model", default=None, help="Override the judge model name.")
@click.option("--data", "data", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A local JSONL/Parquet export of the training data (for recipes whose data is on the cluster/hub).")
@click.option("--references", "references", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A local copy of data.references (for recipes whose references are on the cluster).")
def command(recipe: str, n: int, policy_url: str | None, policy_model: str, judge_url: str | None,
            judge_model: str | None, data: str | None, references: str | None) -> None:
    """Judge N references (and policy samples) from RECIPE's data and print a report."""
    from polaris.service._preflight import format_report, run_preflight

    from ._common import service_config_or_fail

    cfg = service_config_or_fail(recipe, judge_url=judge_url, judge_model=judge_model)
    try:
        report = run_preflight(recipe, n=n, policy_url=policy_url, policy_model=policy_model, cfg=cfg, data=data,
                               references=references)
    except ValueError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    click.echo(format_report(report))
    if report.judgments == 0:
        click.echo("error: nothing was judged: no rows with a reference passed the recipe's filters "
                   "(and no --policy-url for policy samples)", err=True)
        sys.exit(1)
    if report.failure_rate >= 1.0:
        click.echo("error: every judgment failed; check the judge endpoint, model and key", err=True)
        sys.exit(1)
