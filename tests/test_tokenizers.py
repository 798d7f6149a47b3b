"""Tokenizers: how each splits Korean text, that a run encodes exactly as it trained, and that a
run whose saved tokenizer is missing, damaged or foreign is refused before any input is read."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pytest

from rnncli import tokenizers
from rnncli.tokenizers import WORD_MARK
from tests.conftest import DATA, run_cli

NSMC = DATA / "nsmc" / "ratings_train.txt"
needs_nsmc = pytest.mark.skipif(not NSMC.is_file(), reason="nsmc/ratings_train.txt not in RNNCLI_DATA")

REVIEW = "영화가 정말 재미있었다!! ㅋㅋ"


def test_words_are_the_books_tokens_bit_for_bit():
    from rnncli.text import tokenize

    text = "Don't <br /> miss it: GREAT film, 영화가 좋다"
    assert tokenizers.make("words").tokens(text) == tokenize(text)


def test_chars_split_words_into_characters_with_a_mark_between_words():
    tokens = tokenizers.make("chars").tokens(REVIEW)
    assert tokens == [
        "영",
        "화",
        "가",
        WORD_MARK,
        "정",
        "말",
        WORD_MARK,
        *"재미있었다",
        WORD_MARK,
        "ㅋ",
        "ㅋ",
    ]


@pytest.mark.parametrize("name", ["chars", "subword", "morphemes", "chars+subword"])
def test_decomposed_hangul_reads_as_the_composed_text(name):
    tokenizer = tokenizers.make(name)
    if tokenizer.trained:
        tokenizer.train({"영화가": 5, "정말": 4, "재미있었다": 3, "ㅋㅋ": 2})
    decomposed = unicodedata.normalize("NFD", REVIEW)
    assert decomposed != REVIEW
    assert tokenizer.tokens(decomposed) == tokenizer.tokens(REVIEW)


@pytest.mark.parametrize("name", ["words", "chars", "subword", "morphemes", "chars+subword"])
@pytest.mark.parametrize("text", ["!!! ... ???", "", "😀😀", "ㅋㅋㅋㅋ ㅠㅠ", "Great 영화 👍 café"])
def test_odd_lines_are_tokens_or_nothing_never_an_error(name, text):
    tokenizer = tokenizers.make(name)
    if tokenizer.trained:
        tokenizer.train({"great": 3, "영화": 2, "café": 1})
    tokens = tokenizer.tokens(text)
    spans = tokenizer.spans(text)
    assert [token for _, _, token in spans] == tokens
    assert all(0 <= start <= end <= len(text) for start, end, _ in spans)


def test_subword_spans_cover_each_word_piece_by_piece():
    tokenizer = tokenizers.make("subword")
    tokenizer.train({"영화가": 50, "영화를": 40, "영화는": 30, "재미": 20, "있었다": 10})
    spans = tokenizer.spans("영화가 재미")
    assert "".join("영화가 재미"[start:end] for start, end, _ in spans) == "영화가재미"


def test_chars_and_subword_give_all_characters_then_all_marked_pieces_each_on_its_own_text():
    tokenizer = tokenizers.make("chars+subword")
    tokenizer.train({"영화가": 50, "영화를": 40, "영화는": 30, "재미": 20, "있었다": 10})
    text = "영화가 재미"
    tokens = tokenizer.tokens(text)
    chars = tokens[: tokens.index(next(t for t in tokens if t.startswith("#")))]
    assert chars == tokenizers.make("chars").tokens(text)
    pieces = tokens[len(chars) :]
    assert pieces and all(p.startswith("#") for p in pieces)
    spans = tokenizer.spans(text)
    assert [token for _, _, token in spans] == tokens
    piece_text = "".join(text[start:end] for start, end, token in spans if token.startswith("#"))
    assert piece_text == "영화가재미"
    assert tokenizer.check_vocabulary(tokens) is None
    assert "neither" in tokenizer.check_vocabulary(["영화"])


def test_an_unknown_tokenizer_is_a_usage_error(cli, tmp_path):
    result = cli("train", "imdb", "--tokenizer", "bytes", env={"RNNCLI_RUNS": str(tmp_path)})
    err = result.stderr.decode().strip()
    assert result.returncode == 2 and err.startswith("rnncli: error:") and "--tokenizer" in err, err


@pytest.fixture(scope="module")
def nsmc_slice(tmp_path_factory):
    """The first 1,200 reviews of the real NSMC training file, as the `.txt` it comes as."""
    if not NSMC.is_file():
        pytest.skip("nsmc/ratings_train.txt not in RNNCLI_DATA")
    path = tmp_path_factory.mktemp("nsmc") / "ratings.txt"
    with open(NSMC, encoding="utf-8") as source:
        path.write_text("".join(line for _, line in zip(range(1201), source)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def korean_runs(nsmc_slice, tmp_path_factory):
    """One small run per tokenizer, trained through the CLI on the `.txt` as it is."""
    root = tmp_path_factory.mktemp("korean-runs")
    made = {}
    for name in ("chars", "subword", "morphemes", "chars+subword"):
        run = root / name
        result = run_cli(
            "train", str(nsmc_slice), "--text-col", "document", "--tokenizer", name, "--arch", "nbsvm",
            "--ngrams", "3", "--maxlen", "80", "--epochs", "3", "--no-plot", "--seed", "1",
            "--out", str(run), env={"RNNCLI_RUNS": str(root / "runs")},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
        made[name] = run
    return made


@needs_nsmc
@pytest.mark.slow
@pytest.mark.parametrize("name", ["chars", "subword", "morphemes", "chars+subword"])
def test_each_tokenizer_trains_predicts_and_explains_korean(korean_runs, name):
    run = korean_runs[name]
    config = json.loads((run / "config.json").read_text())
    assert config["tokenizer"]["name"] == name and config["training"]["tokenizer"] == name
    env = {"RNNCLI_RUNS": str(run.parent / "runs")}
    texts = [
        "정말 재미있고 감동적인 최고의 영화",
        unicodedata.normalize("NFD", "정말 재미있고 감동적인 최고의 영화"),
    ]
    answer = run_cli("predict", "--model", str(run), "--json", *texts, env=env)
    assert answer.returncode == 0, answer.stderr.decode()
    first, second = (json.loads(line) for line in answer.stdout.decode().splitlines())
    assert first["probabilities"] == second["probabilities"]  # NFD reads as the composed text
    explained = run_cli("predict", "--model", str(run), "--explain", "--json", texts[0], env=env)
    assert explained.returncode == 0, explained.stderr.decode()
    weights = json.loads(explained.stdout)["weights"]
    assert weights and all(word in texts[0] for word, _ in weights)


@needs_nsmc
@pytest.mark.slow
def test_a_run_whose_tokenizer_is_missing_damaged_or_foreign_is_refused_before_input(korean_runs, tmp_path):
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    broken = tmp_path / "missing"
    shutil.copytree(korean_runs["subword"], broken)
    (broken / "tokenizer.model").unlink()
    damaged = tmp_path / "damaged"
    shutil.copytree(korean_runs["subword"], damaged)
    model = damaged / "tokenizer.model"
    model.write_bytes(model.read_bytes()[:-10])
    foreign = tmp_path / "foreign"
    shutil.copytree(korean_runs["subword"], foreign)
    config = json.loads((foreign / "config.json").read_text())
    config["tokenizer"] = {"name": "chars"}
    (foreign / "config.json").write_text(json.dumps(config))
    for run, reason in ((broken, "missing"), (damaged, "damaged"), (foreign, "does not come from")):
        result = run_cli("predict", "--model", str(run), "-", input=b"\xff not utf-8\n", env=env)
        err = result.stderr.decode().strip()
        assert result.returncode == 1 and reason in err and "\n" not in err, err


@pytest.mark.parametrize(
    "name, module, extra",
    [("subword", "sentencepiece", "subword"), ("chars+subword", "sentencepiece", "subword"),
     ("morphemes", "kiwipiepy", "korean")],
)  # fmt: skip
def test_a_missing_tokenizer_library_is_named_before_any_data_is_read(tmp_path, name, module, extra):
    import subprocess
    import sys

    missing = tmp_path / "empty"  # no corpus there: reading data would fail otherwise
    missing.mkdir()
    probe = (
        f"import sys\nsys.modules[{module!r}] = None\nfrom rnncli.cli import main\n"
        f"sys.argv = ['rnncli', 'train', 'nsmc', '--tokenizer', {name!r}, '--data-dir', {str(missing)!r}]\n"
        "main()\n"
    )
    env = {**__import__("os").environ, "RNNCLI_RUNS": str(tmp_path / "runs")}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120, env=env)
    err = result.stderr.decode().strip()
    assert result.returncode == 2, err
    assert f'pip install "rnncli[{extra}]"' in err and "\n" not in err, err
    assert not (tmp_path / "runs").exists()
