"""The flag table of the installed OpenRLHF `train_ppo_ray` parser, and its committed snapshot.

`list_flags()` builds the real parser (the main-block statements before `parse_args()`, see
`_validator`) and describes every option. `flags_0_11_2.json` next to this file is the snapshot for
the pinned release; `diff_against_snapshot()` tells what an upgrade changed. Regenerate with
`python -m polaris.engine.openrlhf._flags --write` (only after reviewing the diff).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ._mainblock import TARGET_VERSION, build_parser, installed_openrlhf_version, load_main_block

SNAPSHOT_PATH = Path(__file__).with_name("flags_" + TARGET_VERSION.replace(".", "_") + ".json")

_ACTION_KINDS = {
    argparse._StoreAction: "store",
    argparse._StoreTrueAction: "store_true",
    argparse._StoreFalseAction: "store_false",
    argparse._StoreConstAction: "store_const",
    argparse._AppendAction: "append",
    argparse._CountAction: "count",
}


class _FrozenDatetime(datetime.datetime):
    """`datetime` whose `now()` is fixed, so time-derived defaults (the wandb run name) are stable."""

    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        return cls(2000, 1, 1, tzinfo=tz)


@dataclass(frozen=True)
class FlagInfo:
    """One command-line option of `train_ppo_ray` (JSON-safe: `inf` becomes the string "inf")."""

    option: str  # the (first) long option string, e.g. "--rollout.n_samples_per_prompt"
    dest: str  # dotted attribute path after `hierarchize`
    kind: str  # store | store_true | store_false | ...
    type: str | None  # "int", "float", "str" or None (flags)
    default: object
    choices: list | None
    nargs: str | int | None
    help: str | None

    def to_dict(self) -> dict:
        """Plain dict (what the snapshot stores)."""
        return asdict(self)


def _json_safe(value: object) -> object:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def list_flags(*, frozen_clock: bool = False) -> dict[str, FlagInfo]:
    """Every option of the installed parser, keyed by option string (help excluded).

    `frozen_clock=True` fixes `datetime.now()` so the wandb run-name default is reproducible
    (used for the snapshot).
    """
    clock = _FrozenDatetime if frozen_clock else datetime.datetime
    parser = build_parser(load_main_block(), clock=clock)
    flags: dict[str, FlagInfo] = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        option = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        type_ = action.type
        flags[option] = FlagInfo(
            option=option,
            dest=action.dest,
            kind=_ACTION_KINDS.get(type(action), type(action).__name__),
            type=getattr(type_, "__name__", None if type_ is None else repr(type_)),
            default=_json_safe(action.default),
            choices=_json_safe(list(action.choices)) if action.choices is not None else None,
            nargs=action.nargs,
            help=action.help,
        )
    return flags


def snapshot_payload() -> dict:
    """What `--write` stores: the version and the frozen-clock flag table."""
    return {
        "openrlhf_version": installed_openrlhf_version(),
        "flags": {k: v.to_dict() for k, v in sorted(list_flags(frozen_clock=True).items())},
    }


def load_snapshot(path: Path = SNAPSHOT_PATH) -> dict:
    """The committed snapshot (`{"openrlhf_version", "flags"}`)."""
    return json.loads(path.read_text(encoding="utf-8"))


def diff_against_snapshot(path: Path = SNAPSHOT_PATH) -> list[str]:
    """Human-readable differences between the installed parser and the snapshot (empty = same)."""
    want = load_snapshot(path)["flags"]
    have = snapshot_payload()["flags"]
    # a JSON round trip makes tuples lists, like the stored side
    have = json.loads(json.dumps(have))
    out = [f"removed: {k}" for k in sorted(set(want) - set(have))]
    out += [f"added: {k}" for k in sorted(set(have) - set(want))]
    for k in sorted(set(want) & set(have)):
        for field_name in sorted(set(want[k]) | set(have[k])):
            if want[k].get(field_name) != have[k].get(field_name):
                out.append(f"changed: {k} {field_name}: {want[k].get(field_name)!r} -> {have[k].get(field_name)!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m polaris.engine.openrlhf._flags [--write|--check]`."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--write", action="store_true", help=f"(re)write {SNAPSHOT_PATH.name}")
    args.add_argument("--check", action="store_true", help="exit 1 when the installed parser differs")
    ns = args.parse_args(argv)
    if ns.write:
        version = installed_openrlhf_version()
        if version != TARGET_VERSION:
            print(f"refusing to write the {TARGET_VERSION} snapshot from openrlhf {version}", file=sys.stderr)
            return 1
        SNAPSHOT_PATH.write_text(json.dumps(snapshot_payload(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {SNAPSHOT_PATH} ({len(list_flags())} flags)")
        return 0
    if ns.check:
        diff = diff_against_snapshot()
        print("\n".join(diff) if diff else "installed parser matches the snapshot")
        return 1 if diff else 0
    for info in list_flags().values():
        print(f"{info.option}\t{info.kind}\t{info.type}\t{info.default!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
