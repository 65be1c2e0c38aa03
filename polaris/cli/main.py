"""Entry point of the `polaris` CLI.

Commands are imported only when invoked, so `polaris --help` and `polaris validate` never load
torch, ray, vllm or openrlhf. Exit codes: 0 ok, 1 runtime failure, 2 usage error,
3 invalid recipe, 4 launch failed.
"""

from __future__ import annotations

import importlib
import sys

import click

from polaris import OPENRLHF_VERSION, __version__

# name -> (module, one-line help). The module exposes a click.Command named `command`.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("polaris.cli.validate", "Check recipes: schema, cross-field rules, files. No GPU, no network."),
    "show": ("polaris.cli.show", "Print a recipe as written or fully resolved, or explain where a key came from."),
    "schema": ("polaris.cli.schema", "Write the recipe JSON Schema (for editors and CI)."),
    "diff": ("polaris.cli.diff", "Semantic difference between two resolved recipes."),
    "compile": ("polaris.cli.compile", "Compile a recipe into an OpenRLHF job bundle (pure: no GPU, no network)."),
    "plan": ("polaris.cli.plan", "GPU memory per device for the recipe's layout on A100/H100."),
    "run": ("polaris.cli.run", "Compile into a run directory and launch on Ray (or --dry-run)."),
    "serve-reward": ("polaris.cli.serve_reward", "Run the reward service (judge + reward components) over HTTP."),
    "score": ("polaris.cli.score", "Score stories offline: every reward component per row."),
    "preflight": ("polaris.cli.preflight", "Judge a few items before a run: scores, failures, latency, cost."),
}

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INVALID, EXIT_LAUNCH = 0, 1, 2, 3, 4


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None or not _module_exists(entry[0]):
            return None
        command = importlib.import_module(entry[0]).command
        command.name = name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from the table, so listing commands imports none of them.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid recipe, 4 launch failed.\n\n"
    "Shell completion: eval \"$(_POLARIS_COMPLETE=bash_source polaris)\"",
)
@click.version_option(__version__, prog_name="polaris", message=f"%(prog)s %(version)s (OpenRLHF target {OPENRLHF_VERSION})")
@click.option("--debug", is_flag=True, help="Show full tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Polaris: RL fine-tuning of LLMs for long-form story writing, from one YAML recipe."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes print a message, never a traceback (unless --debug)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="polaris", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_RUNTIME
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:  # a command that calls sys.exit(code)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_RUNTIME)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: a message, not a traceback
        if debug:
            raise
        click.echo(f"error: {type(exc).__name__}: {exc}\n(run with --debug for the full traceback)", err=True)
        return EXIT_RUNTIME
    # standalone_mode=False: click returns the code of a raised Exit instead of raising it.
    return rv if isinstance(rv, int) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
