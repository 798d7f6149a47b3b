"""Reuters-21578 topic classification, built exactly as `keras.datasets.reuters` was.

Every document with at least one topic, labelled with its first topic; topics with fewer than 15
documents dropped (46 remain, 11,228 wires); topics numbered in order of first appearance, which
reproduces Keras' label ids; shuffled with seed 113 and split 80/20 (8,982 / 2,246).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rnncli.data.archives import iter_files
from rnncli.data.corpus import RawCorpus, shuffled
from rnncli.errors import DataError
from rnncli.progress import NullReporter, Reporter

SGML_FILES = 22
MIN_DOCUMENTS_PER_TOPIC = 15
SHUFFLE_SEED = 113
TEST_SPLIT = 0.2

_SGML_NAME = re.compile(r"(?:^|/)reut2-(\d{3})\.sgm$")
_DOCUMENT = re.compile(r"<REUTERS\b[^>]*>(.*?)</REUTERS>", re.DOTALL)
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.DOTALL)
_D = re.compile(r"<D>(.*?)</D>", re.DOTALL)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.DOTALL)


def _read(path: Path) -> bytes:
    """A file of an extracted folder; one that cannot be read is a data error naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _iter_sgml(source: Path) -> Iterator[tuple[str, bytes]]:
    if source.is_dir():
        for path in sorted(source.glob("reut2-*.sgm")):
            yield path.name, _read(path)
    else:
        yield from iter_files(source)


def parse_sgml(text: str, name: str) -> list[tuple[str, str]]:
    """`(first topic, text)` for every document of one SGML file that has a topic.

    The text is the `<BODY>`, or the `<TITLE>` where a wire has no body. Entities such as `&#3;`
    are left as written, as Keras' corpus did (its wires end in "reuter 3").
    """
    opened = text.count("<REUTERS")
    documents = _DOCUMENT.findall(text)
    if opened == 0 or len(documents) != opened:
        raise DataError(
            f"{name}: malformed SGML: {opened} <REUTERS> tags but {len(documents)} complete documents"
        )
    result = []
    for number, document in enumerate(documents, start=1):
        topics_block = _TOPICS.search(document)
        if topics_block is None:
            raise DataError(f"{name}: malformed SGML: document {number} has no <TOPICS> element")
        topics = _D.findall(topics_block.group(1))
        if not topics:
            continue
        body = _BODY.search(document) or _TITLE.search(document)
        result.append((topics[0], body.group(1) if body else ""))
    return result


def load(source: Path, reporter: Reporter | None = None) -> RawCorpus:
    """Parse the 22 SGML files (latin-1) from the archive or an extracted folder."""
    reporter = reporter or NullReporter()
    files: dict[int, bytes] = {}
    task = reporter.task(f"Reading {source.name}", SGML_FILES, "files")
    try:
        for name, data in _iter_sgml(source):
            match = _SGML_NAME.search(name)
            if match:
                files[int(match.group(1))] = data
                task.advance()
    finally:
        task.close()
    if len(files) != SGML_FILES:
        raise DataError(
            f"{source}: expected {SGML_FILES} reut2-NNN.sgm files, found {len(files)}",
            "delete it so rnncli fetches it again",
        )
    documents: list[tuple[str, str]] = []
    for number in sorted(files):
        documents.extend(parse_sgml(files[number].decode("latin-1"), f"reut2-{number:03d}.sgm"))
    counts = Counter(topic for topic, _ in documents)
    kept = [(topic, text) for topic, text in documents if counts[topic] >= MIN_DOCUMENTS_PER_TOPIC]
    label_names: list[str] = []
    for topic, _ in kept:
        if topic not in label_names:
            label_names.append(topic)
    ids = {name: i for i, name in enumerate(label_names)}
    texts, labels = shuffled([text for _, text in kept], [ids[t] for t, _ in kept], SHUFFLE_SEED)
    cut = int(len(texts) * (1 - TEST_SPLIT))
    return RawCorpus("reuters", tuple(label_names), texts[:cut], labels[:cut], texts[cut:], labels[cut:])
