"""`shopsim new`: a commented scenario that validates and replays, or a renamed copy of another."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from helpers.paths import ROOT
from shopsim.cli import main
from shopsim.scenario.schema import json_schema
from shopsim.validate import load_scenario

SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


def new(*args: str):
    return CliRunner().invoke(main, ["new", *args], catch_exceptions=False)


def test_the_starter_validates_replays_and_passes_its_checks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = new("mine")
    assert r.exit_code == 0, r.output
    assert "wrote mine.yaml" in r.output and "shopsim replay mine.yaml --check" in r.output
    assert "change first:" in r.output
    text = (tmp_path / "mine.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=scenario.schema.json\n")
    assert "__" not in text  # every placeholder filled
    assert load_scenario(tmp_path / "mine.yaml").run.name == "mine"
    assert json.loads((tmp_path / "scenario.schema.json").read_text()) == json_schema()
    played = CliRunner().invoke(main, ["replay", "mine.yaml", "--check", "--no-db", "--log", "mine.jsonl", "-q"],
                                catch_exceptions=False)
    assert played.exit_code == 0, played.output
    assert "2 passed, 0 failed" in played.output


def test_it_goes_into_scenarios_when_that_folder_is_there_and_keeps_an_existing_schema(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "scenario.schema.json").write_text("{}")
    r = new("trial")
    assert r.exit_code == 0 and (tmp_path / "scenarios" / "trial.yaml").exists()
    assert (tmp_path / "scenarios" / "scenario.schema.json").read_text() == "{}"
    assert "scenario.schema.json" not in r.output


@pytest.mark.parametrize("source", SHIPPED)
def test_a_copy_of_any_shipped_scenario_is_that_scenario_under_the_new_name(tmp_path, monkeypatch, source):
    monkeypatch.chdir(tmp_path)
    r = new("copy", "--from", source)
    assert r.exit_code == 0, r.output
    copy = load_scenario(tmp_path / "copy.yaml")
    original = load_scenario(ROOT / "scenarios" / f"{source}.yaml")
    assert copy.run.name == "copy"
    assert copy.model_dump(exclude={"run": {"name"}}) == original.model_dump(exclude={"run": {"name"}})
    text = (tmp_path / "copy.yaml").read_text()
    assert f"`shopsim new copy --from {source}`" in text.splitlines()[1]


@pytest.mark.parametrize("args, words", [
    (["bad name"], "is not a scenario name"),
    (["x" * 65], "is not a scenario name"),
    (["ok", "--from", "nosuch"], "no such file"),
    (["ok", "--out", "sub/"], "names a folder"),
])
def test_bad_input_is_exit_2_and_writes_nothing(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    r = new(*args)
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_forced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("mine")
    r = new("mine")
    assert r.exit_code == 2 and "already exists" in r.output
    assert (tmp_path / "mine.yaml").read_text() == "mine"
    assert new("mine", "--force").exit_code == 0
    assert load_scenario(tmp_path / "mine.yaml").run.name == "mine"
