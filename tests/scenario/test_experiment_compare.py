"""`experiments.NAME.compare`: the pairs of arms a scenario names. Unknown arms, an arm against itself, the
control named first and a pair named twice are each reported where they are written (file:line:col)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from shopsim.cli import main
from shopsim.scenario.problems import ScenarioError
from shopsim.validate import load_scenario, load_scenario_text

BASE = (ROOT / "scenarios" / "experiment.yaml").read_text()
NAMED = "      - {variant: reminder_discount, against: reminder}\n"


def _with(pairs: str) -> str:
    assert NAMED in BASE
    return BASE.replace(NAMED, pairs)


def test_the_shipped_experiment_names_coupon_against_plain_reminder() -> None:
    ex = load_scenario(ROOT / "scenarios" / "experiment.yaml").experiments["cart_incentive"]
    assert [(c.variant, c.against) for c in ex.compare] == [("reminder_discount", "reminder")]
    assert ex.control_arm == "holdout"


def test_bad_pairs_are_located() -> None:
    text = _with("      - {variant: reminder_discont, against: reminder}\n"
                 "      - {variant: holdout, against: reminder}\n"
                 "      - {variant: reminder, against: reminder}\n"
                 "      - {variant: reminder, against: reminder_discount}\n"
                 "      - {variant: reminder_discount, against: reminder}\n"
                 "      - {variant: reminder, against: nobody}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "e.yaml")
    found = [(p.path, p.message) for p in info.value.problems]
    line = BASE[:BASE.index(NAMED)].count("\n") + 1
    at = {p.path: (p.line, p.col) for p in info.value.problems}
    base = "experiments.cart_incentive.compare"
    assert found == [
        (f"{base}[0].variant", "unknown variant 'reminder_discont'; did you mean 'reminder_discount'?"),
        (f"{base}[1].variant", "'holdout' is the control, which every arm is measured against: write variant: "
                               "reminder, against: holdout"),
        (f"{base}[2].against", "an arm compared with itself ('reminder'): name two different arms"),
        (f"{base}[4]", "'reminder_discount' and 'reminder' are already compared at compare[3]"),
        (f"{base}[5].against", "unknown variant 'nobody'; valid: holdout, reminder, reminder_discount"),
    ]
    assert at[f"{base}[0].variant"] == (line, 10)
    assert at[f"{base}[2].against"][0] == line + 2


def test_the_cli_exits_2_with_located_errors(tmp_path) -> None:
    bad = tmp_path / "e.yaml"
    bad.write_text(_with("      - {variant: reminder_discount, against: remindr, extra: 1}\n"))
    res = CliRunner().invoke(main, ["validate", str(bad)])
    assert res.exit_code == 2
    lines = res.output.splitlines()
    assert any(line.startswith(f"{bad}:") and "compare[0].extra: unknown key 'extra'" in line for line in lines)
    assert "Traceback" not in res.output
