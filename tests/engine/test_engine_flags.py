"""The installed parser's flag table matches the committed 0.11.2 snapshot (an upgrade fails loudly)."""

from __future__ import annotations

import json

from polaris.engine.openrlhf import diff_against_snapshot, list_flags
from polaris.engine.openrlhf._flags import SNAPSHOT_PATH, load_snapshot, main


def test_installed_parser_has_167_flags():
    flags = list_flags()
    assert len(flags) == 167
    assert "--help" not in flags and "-h" not in flags


def test_installed_parser_matches_snapshot():
    snap = load_snapshot()
    assert snap["openrlhf_version"] == "0.11.2"
    assert len(snap["flags"]) == 167
    assert diff_against_snapshot() == []


def test_flag_details_reflect_the_0_11_2_parser():
    flags = list_flags()
    lvl = flags["--algo.advantage.is_correction_level"]
    assert lvl.choices == ["off", "token", "seq"] and lvl.default == "off" and lvl.type == "str"
    assert "--algo.advantage.is_correction_enable" not in flags  # removed in 0.11.2
    assert flags["--algo.advantage.is_correction_threshold"].nargs == "+"
    neg = flags["--actor.muon.no_nesterov"]
    assert neg.kind == "store_false" and neg.dest == "actor.muon.nesterov"
    assert flags["--train.colocate_all"].kind == "store_true" and flags["--train.colocate_all"].type is None
    assert flags["--ckpt.max_mem"].default == "inf"  # JSON-safe
    assert flags["--rollout.n_samples_per_prompt"].default == 1


def test_frozen_clock_makes_the_run_name_default_stable():
    a = list_flags(frozen_clock=True)["--logger.wandb.run_name"].default
    assert a == "ppo_0101T00:00"


def test_diff_reports_added_removed_and_changed(tmp_path):
    snap = load_snapshot()
    flags = snap["flags"]
    del flags["--rollout.batch_size"]
    flags["--old.flag"] = dict(flags["--train.seed"], option="--old.flag", dest="old.flag")
    flags["--train.seed"]["default"] = 7
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snap))
    diff = diff_against_snapshot(path)
    assert "added: --rollout.batch_size" in diff
    assert "removed: --old.flag" in diff
    assert any(d.startswith("changed: --train.seed default: 7 -> 42") for d in diff)
    assert len(diff) == 3


def test_check_entry_point(capsys):
    assert main(["--check"]) == 0
    assert "matches" in capsys.readouterr().out
    assert SNAPSHOT_PATH.name == "flags_0_11_2.json"
