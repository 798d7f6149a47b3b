"""The README's examples work as written.

The convention, also stated in the README's testing section:

* a ```console block is a transcript that runs here: each `$ ` line is a shell command, run in
  order in one temporary folder holding a copy of examples/ (so `./runs` is that folder's); the
  lines after a command, if any, are exactly its output, where `...` stands for any text. Every
  command must exit 0. KEY_OUTPUT adds a check for output that varies from run to run.
* every other `rnncli` command in a fenced block (```sh, ```text: the ones that need a corpus
  download or a particular run) must at least parse: `--help` appended, it exits 0.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
BIN = Path(sys.executable).parent
RNNCLI = [str(BIN / "rnncli")] if (BIN / "rnncli").is_file() else [sys.executable, "-m", "rnncli"]

#: Output that is not the same every run, checked by pattern (the command must be in a transcript).
KEY_OUTPUT = {
    "rnncli train examples/reviews.csv --text-col review --label-col sentiment --seed 7": (
        r"^Test Accuracy: 0\.\d{4}$"
    ),
    'rnncli predict "a brilliant, funny and moving film"': r"\Apositive\t0\.\d{4}\n\Z",
}


@dataclass
class Command:
    line: int  # where it is in the README
    text: str
    output: list[str] = field(default_factory=list)


def _blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """The fenced code blocks: (language, line of the first code line, code lines)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = re.match(r"^```(\w*)\s*$", lines[i])
        if match:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append((match.group(1), i + 2, lines[i + 1 : end]))
            i = end
        i += 1
    return blocks


def _transcripts() -> list[Command]:
    commands: list[Command] = []
    for language, first, lines in _blocks(README.read_text(encoding="utf-8")):
        if language != "console":
            continue
        for number, line in enumerate(lines, first):
            if line.startswith("$ "):
                commands.append(Command(number, line[2:]))
            else:
                assert commands, f"README.md:{number}: a console block must start with a `$ ` command"
                commands[-1].output.append(line)
    return commands


def _shown_commands() -> list[tuple[int, list[str]]]:
    """Every `rnncli ...` invocation outside console blocks, as argument lists (pipes split)."""
    found = []
    for language, first, lines in _blocks(README.read_text(encoding="utf-8")):
        if language == "console":
            continue
        for number, line in enumerate(lines, first):
            line = line[2:] if line.startswith("$ ") else line
            if "rnncli" not in line or line.startswith(("#", "python")):
                continue
            words, command = shlex.split(line, comments=True), []
            for word in [*words, "|"]:
                if word in ("|", "&&", ";"):
                    if command[:1] == ["rnncli"]:
                        found.append((number, command[1:]))
                    command = []
                else:
                    command.append(word)
    return found


def _normal(command: str) -> str:
    """The command without its comment and with its quoting normalised, for KEY_OUTPUT."""
    return shlex.join(shlex.split(command, comments=True))


def _matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    patterns = [re.escape(line).replace(re.escape("..."), ".*") for line in expected]
    return all(re.fullmatch(pattern, line) for pattern, line in zip(patterns, actual))


def test_the_readme_has_examples_of_both_kinds():
    transcripts, shown = _transcripts(), _shown_commands()
    assert any(c.text.startswith("rnncli train") for c in transcripts)
    assert len(shown) >= 5
    texts = {_normal(c.text) for c in transcripts}
    assert {_normal(key) for key in KEY_OUTPUT} <= texts, (
        "KEY_OUTPUT names a command the README no longer shows"
    )


def test_console_examples_run_as_written(tmp_path):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = {key: value for key, value in os.environ.items() if key != "RNNCLI_RUNS"}  # ./runs, as for a user
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    keys = {_normal(command): pattern for command, pattern in KEY_OUTPUT.items()}
    for command in _transcripts():
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command.text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        where = f"README.md:{command.line}: $ {command.text}"
        assert result.returncode == 0, f"{where}\nexit {result.returncode}\n{result.stderr[-3000:]}"
        actual = result.stdout.splitlines()
        if command.output:
            assert _matches(command.output, actual), f"{where}\nexpected {command.output}\ngot {actual}"
        key = keys.get(_normal(command.text))
        if key:
            assert re.search(key, result.stdout, re.M), f"{where}\n{key!r} not in\n{result.stdout[-3000:]}"
    assert (tmp_path / "runs" / "LATEST").is_file()  # the runs landed in ./runs, here


@pytest.mark.parametrize(
    ("line", "args"), _shown_commands(), ids=[f"{n}:{shlex.join(a)}" for n, a in _shown_commands()]
)
def test_every_other_rnncli_command_in_the_readme_parses(line, args):
    result = subprocess.run([*RNNCLI, *args, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"README.md:{line}: rnncli {shlex.join(args)}\n{result.stderr}"
    assert "Usage:" in result.stdout


def test_the_transcript_matcher_fails_on_a_difference():
    assert _matches(["rnncli 0.1.0"], ["rnncli 0.1.0"])
    assert _matches(["positive ...", "b"], ["positive 0.93", "b"])
    assert not _matches(["rnncli 0.1.0"], ["rnncli 0.2.0"])
    assert not _matches(["a"], ["a", "b"])
    assert not _matches(["a.c"], ["abc"])
