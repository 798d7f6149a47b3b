"""What the real `rnncli` says on first use: help pages, option names, usage errors, completion.

Every test runs the CLI in a subprocess, as a user's shell would; none trains except the last.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import run_cli


def _one_line_error(result, code):
    assert result.returncode == code, result.stderr.decode()
    err = result.stderr.decode().strip()
    assert err.startswith("rnncli: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_top_level_help_fits_80_columns_without_cutting_a_command_short():
    result = run_cli("--help", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    commands = [line for line in text.split("Commands:")[1].splitlines() if line.strip()]
    assert {line.split()[0] for line in commands} >= {"train", "evaluate", "predict", "summary"}
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert not [line for line in commands if line.endswith(("...", "…"))], text


def test_help_and_option_errors_import_neither_tensorflow_nor_numpy():
    probe = (
        "import sys\nfrom rnncli.cli import main\nsys.argv = ['rnncli'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    for args in (["--help"], ["train", "--help"], ["evaluate", "--help"], ["train", "x", "--lr", "y"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, timeout=60)
        assert result.stderr.decode().strip().splitlines()[-1] in ("HEAVY [] 0", "HEAVY [] 2"), result.stderr


def test_lr_is_an_alias_of_learning_rate():
    # Parsed (no "No such option"): the run is then refused for its epochs, before any data is read.
    for flag in ("--lr", "--learning-rate"):
        err = _one_line_error(run_cli("train", "reuters", flag, "0.01", "--epochs", "0"), 2)
        assert "--epochs must be at least 1" in err


@pytest.mark.parametrize(
    "args",
    [
        ["train", "reuters"],
        ["evaluate"],
        ["train", "--resume", "some-run"],
    ],
    ids=["train", "evaluate", "train-resume"],
)
def test_a_data_dir_that_is_not_a_folder_is_a_usage_error(args, tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    assert "does not exist" in _one_line_error(run_cli(*args, "--data-dir", str(missing)), 2)
    a_file = tmp_path / "archive.tar.gz"
    a_file.write_bytes(b"not a folder")
    assert "is a file" in _one_line_error(run_cli(*args, "--data-dir", str(a_file)), 2)


def test_train_help_shows_flag_words_and_the_runs_root():
    text = " ".join(run_cli("train", "--help", env={"COLUMNS": "200"}).stdout.decode().split())
    assert "[default: reuters --no-mask, imdb --mask, nsmc --mask, your data --mask]" in text
    assert "False" not in text and "True" not in text
    assert "$RNNCLI_RUNS" in text.split("--out")[1].split("--data-dir")[0]
    assert "--learning-rate, --lr" in text


def test_shell_completion_is_offered_and_answers(tmp_path):
    assert "--install-completion" in run_cli("--help").stdout.decode()
    # Typer finds the shell among the command's parent processes, so run it from one (a test
    # session started outside any shell, as by a scheduler, has none to find).
    command = '"$0" -m rnncli --show-completion; exit $?'  # not exec'd: bash stays the parent
    script = subprocess.run(["bash", "-c", command, sys.executable], capture_output=True, timeout=120)
    assert script.returncode == 0 and "_RNNCLI_COMPLETE" in script.stdout.decode(), script.stderr
    env = {"_RNNCLI_COMPLETE": "complete_bash", "COMP_WORDS": "rnncli ev", "COMP_CWORD": "1"}
    answer = run_cli(env=env)
    assert answer.returncode == 0 and answer.stdout.decode().split() == ["evaluate"], answer.stderr


def test_evaluate_takes_the_run_as_model_option_or_argument_not_both(tmp_path):
    missing = str(tmp_path / "nope")
    # --model is understood (the run is looked up and found missing), as in predict.
    assert "does not exist" in _one_line_error(run_cli("evaluate", "--model", missing), 1)
    assert "does not exist" in _one_line_error(run_cli("evaluate", missing), 1)
    assert "not both" in _one_line_error(run_cli("evaluate", missing, "--model", missing), 2)


@pytest.mark.slow
def test_preset_and_drawn_seed_are_printed_and_evaluate_reads_the_run_by_model(tiny_csv, runs_dir):
    args = ["--num-words", "100", "--maxlen", "20", "--buckets", "1000", "--epochs", "2"]
    trained = run_cli("train", str(tiny_csv), "--preset", "best", "--no-plot", *args)
    assert trained.returncode == 0, trained.stderr.decode()
    lines = trained.stdout.decode().splitlines()
    (line,) = [text for text in lines if text.startswith("Preset ")]
    assert line.startswith("Preset best: fasttext; ")
    assert "embedding_dim 64" in line and "learning_rate 0.003" in line and "mask on" in line
    assert "maxlen 20 (given)" in line and "num_words 100 (given)" in line and "patience 3," in line
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    # No --seed: the drawn one is printed with the option that repeats the run, and recorded.
    seed = json.loads((run / "config.json").read_text())["training"]["seed"]
    assert f"Seed: {seed} (drawn; --seed {seed} repeats this run)" in lines
    by_option = run_cli("evaluate", "--model", str(run), "--json")
    assert by_option.returncode == 0, by_option.stderr.decode()
    by_argument = run_cli("evaluate", str(run), "--json")
    assert json.loads(by_option.stdout) == json.loads(by_argument.stdout)
    assert json.loads(by_option.stdout)["count"] == 12


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "summary", "export", "serve", "tune"])
def test_a_group_of_one_command_parses_helps_and_errs_as_the_whole_app(command, monkeypatch):
    """`main` builds only the command it runs (`_group_for`): what it prints must not change."""
    import typer

    # `--debug` below sets RNNCLI_DEBUG in this process; monkeypatch takes it out afterwards, or
    # every later subprocess of this worker would print tracebacks.
    monkeypatch.setenv("RNNCLI_DEBUG", "")
    from click.testing import CliRunner

    from rnncli.cli import _group_for, app

    whole = typer.main.get_command(app)
    for args in ([command, "--help"], [command, "--no-such-option"], ["--debug", command, "--help"]):
        single = _group_for(args)
        assert single is not whole and list(single.commands) == [command]
        expected, got = CliRunner().invoke(whole, args), CliRunner().invoke(single, args)
        assert (got.exit_code, got.output) == (expected.exit_code, expected.output)
    # Root options other than --debug before the name are the root's: its help lists every
    # command, and its "Did you mean" hints look among them all.
    for args in (["--help", command], ["-h", command], ["--", "-x", f"--{command}", command], ["runs"]):
        assert list(_group_for(args).commands) == list(whole.commands)
        expected, got = CliRunner().invoke(whole, args), CliRunner().invoke(_group_for(args), args)
        assert (got.exit_code, got.output) == (expected.exit_code, expected.output)
