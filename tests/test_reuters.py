import pytest

from rnncli.data import builtin, reuters
from rnncli.errors import DataError
from tests.conftest import DATA, make_tar, needs_reuters


def _doc(topics, body=None, title="A TITLE"):
    d = "".join(f"<D>{t}</D>" for t in topics)
    text = f"<TITLE>{title}</TITLE>" + (f"<BODY>{body}</BODY>" if body is not None else "")
    return f'<REUTERS TOPICS="YES" NEWID="1">\n<TOPICS>{d}</TOPICS>\n<TEXT>{text}</TEXT>\n</REUTERS>\n'


def test_parse_sgml_uses_first_topic_and_falls_back_to_title():
    sgml = _doc(["grain", "wheat"], "Wheat rose.") + _doc([], "no topic") + _doc(["earn"], None, "NET UP")
    assert reuters.parse_sgml(sgml, "x.sgm") == [("grain", "Wheat rose."), ("earn", "NET UP")]


def test_malformed_sgml_names_the_file():
    with pytest.raises(DataError, match="reut2-003.sgm: malformed SGML"):
        reuters.parse_sgml(_doc(["earn"], "x") + "<REUTERS><TOPICS></TOPICS>", "reut2-003.sgm")


def test_small_archive_keeps_topics_with_15_documents_in_order_of_first_appearance(tmp_path):
    members = {}
    for n in range(22):
        docs = []
        if n == 0:
            docs += [_doc(["cocoa"], f"cocoa wire {i}") for i in range(15)]
            docs += [_doc(["rare"], "rare wire")]
        if n == 1:
            docs += [_doc(["grain"], f"grain wire {i}") for i in range(20)]
        members[f"reut2-{n:03d}.sgm"] = ("".join(docs) or _doc([], "none")).encode("latin-1")
    corpus = reuters.load(make_tar(tmp_path / "r.tar.gz", members))
    assert corpus.label_names == ("cocoa", "grain")
    assert len(corpus.train_texts) == 28 and len(corpus.test_texts) == 7


def test_archive_with_missing_files_is_refused(tmp_path):
    path = make_tar(tmp_path / "r.tar.gz", {"reut2-000.sgm": _doc(["earn"], "x").encode()})
    with pytest.raises(DataError, match="expected 22"):
        reuters.load(path)


@pytest.mark.slow
@needs_reuters
def test_real_corpus_matches_keras_datasets_reuters():
    corpus = builtin.load("reuters", DATA)
    assert (len(corpus.train), len(corpus.test)) == (8982, 2246)
    assert len(corpus.label_names) == 46
    assert corpus.label_names[:5] == ("cocoa", "grain", "veg-oil", "earn", "acq")
    assert corpus.label_names[-1] == "lead"
    # keras.datasets.reuters.get_label_names(), in id order.
    keras_names = [
        "cocoa",
        "grain",
        "veg-oil",
        "earn",
        "acq",
        "wheat",
        "copper",
        "housing",
        "money-supply",
        "coffee",
        "sugar",
        "trade",
        "reserves",
        "ship",
        "cotton",
        "carcass",
        "crude",
        "nat-gas",
        "cpi",
        "money-fx",
        "interest",
        "gnp",
        "meal-feed",
        "alum",
        "oilseed",
        "gold",
        "tin",
        "strategic-metal",
        "livestock",
        "retail",
        "ipi",
        "iron-steel",
        "rubber",
        "heat",
        "jobs",
        "lei",
        "bop",
        "zinc",
        "orange",
        "pet-chem",
        "dlr",
        "gas",
        "silver",
        "wpi",
        "hog",
        "lead",
    ]
    assert list(corpus.label_names) == keras_names
    first = corpus.train.padded(1000, 10_000)[0]
    first = first[first > 0][:10].tolist()
    book = [1, 2, 2, 8, 43, 10, 447, 5, 25, 207]
    # Same wire, same OOV positions; ranks within a few places (we rank on the training split only).
    assert [i <= 2 for i in first] == [i <= 2 for i in book]
    assert all(abs(a - b) <= 12 for a, b in zip(first, book))


def test_an_unreadable_file_in_an_extracted_folder_is_a_data_error_naming_it(tmp_path):
    for n in range(22):
        (tmp_path / f"reut2-{n:03d}.sgm").write_text(_doc(["earn"], f"wire {n}"), encoding="latin-1")
    broken = tmp_path / "reut2-005.sgm"
    broken.unlink()
    broken.mkdir()  # matches the pattern, cannot be read (a permission error does the same)
    with pytest.raises(DataError, match="reut2-005.sgm: cannot read"):
        reuters.load(tmp_path)
