"""Preset files: written, read back through `rnncli train --preset-file`, overridden by options,
and every malformed file one usage error before anything trains."""

from __future__ import annotations

import json

import pytest

from rnncli import presetfiles
from rnncli.errors import UsageError
from rnncli.settings import resolve
from tests.conftest import run_cli

CHOSEN = {
    "arch": "fasttext",
    "num_words": 300,
    "maxlen": 40,
    "buckets": 5000,
    "ngrams": 3,
    "embedding_dim": 8,
    "dropout": 0.25,
    "learning_rate": 0.004,
    "batch_size": 16,
    "epochs": 2,
    "patience": 1,
    "val": "0.25",
    "mask": True,
}


def test_a_saved_preset_file_resolves_to_its_settings_and_options_still_win(tmp_path):
    path = tmp_path / "found.json"
    presetfiles.save(path, "found by hand", CHOSEN)
    assert presetfiles.load(path) == ("found by hand", CHOSEN)
    settings = resolve("imdb", preset_file=path)
    assert {name: getattr(settings, name) for name in CHOSEN} == CHOSEN
    assert settings.preset == "file:found.json"
    assert resolve("imdb", preset_file=path, maxlen=77).maxlen == 77


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{not json", "is not JSON"),
        ('["arch"]', '"settings" object'),
        ('{"settings": {"seed": 3}}', "unknown setting 'seed'"),
        ('{"settings": {"num_words": "many"}}', "num_words must be a JSON integer"),
        ('{"settings": {"mask": 1}}', "mask must be a JSON true or false"),
        ('{"settings": {"epochs": 2.5}}', "epochs must be a JSON integer"),
        ('{"settings": {"epochs": 0}}', "--epochs must be at least 1"),
        ('{"settings": {"arch": "transformer"}}', "transformer"),
    ],
)
def test_a_malformed_preset_file_is_one_usage_error(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        resolve("imdb", preset_file=path)


def test_preset_and_preset_file_together_are_refused(tmp_path):
    path = tmp_path / "p.json"
    presetfiles.save(path, "x", {"epochs": 1})
    with pytest.raises(UsageError, match="together"):
        resolve("imdb", preset="best", preset_file=path)


def test_train_with_a_preset_file_records_its_settings_in_the_run(tiny_csv, tmp_path):
    path = tmp_path / "found.json"
    presetfiles.save(path, "found", CHOSEN)
    run = tmp_path / "run"
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    result = run_cli(
        "train", str(tiny_csv), "--preset-file", str(path), "--epochs", "1", "--seed", "1", "--no-plot",
        "--out", str(run), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert "Preset file:found.json: fasttext;" in result.stdout.decode()
    recorded = json.loads((run / "config.json").read_text())["training"]
    assert {name: recorded[name] for name in CHOSEN if name != "epochs"} == {
        name: value for name, value in CHOSEN.items() if name != "epochs"
    }
    assert recorded["epochs"] == 1 and recorded["preset"] == "file:found.json"
    missing = run_cli("train", str(tiny_csv), "--preset-file", str(tmp_path / "none.json"), env=env)
    err = missing.stderr.decode().strip()
    assert missing.returncode == 2 and "cannot read preset file" in err and "\n" not in err, err
