"""Predictions, explanations and the run's description as the JSON the server answers with.

A prediction is the record `rnncli predict --json` prints (text, label, probability,
probabilities; `top` when more than one label is asked for), and an explanation adds what
`--explain --json` adds (method, [word, weight] pairs), so a client can move between the
command and the server without translating anything. An explanation also carries each word's
offsets, which the JSON Lines output has no need for but a page shading the words does.
"""

from __future__ import annotations

from rnncli import __version__, runs
from rnncli.errors import RunError


def prediction_record(prediction, top_k: int = 1) -> dict[str, object]:
    """One text's answer; `top_k` is already at most the number of labels."""
    record: dict[str, object] = {
        "text": prediction.text,
        "label": prediction.label,
        "probability": prediction.probability,
        "probabilities": prediction.probabilities,
    }
    if top_k > 1:
        ranked = sorted(prediction.probabilities.items(), key=lambda pair: -pair[1])[:top_k]
        record["top"] = [{"label": name, "probability": p} for name, p in ranked]
    return record


def explanation_record(explanation, top_k: int = 1) -> dict[str, object]:
    """The prediction's record with the weight of each word, as `--explain --json` gives it."""
    record = prediction_record(explanation.prediction, top_k)
    record["method"] = explanation.method
    record["weights"] = explanation.pairs()
    record["offsets"] = [[word.start, word.end] for word in explanation.words]
    return record


def metadata(predictor, serving: dict[str, object]) -> dict[str, object]:
    """What the server answers with: the run, its model and test metrics, and its own limits.

    Read once, when the server starts: the server keeps serving the run it loaded even if the
    run directory changes or a newer run appears.
    """
    run, spec = predictor.run, predictor.spec
    return {
        "rnncli_version": __version__,
        "run": str(run.path.resolve()),
        "run_name": run.path.resolve().name,
        "state": run.state,
        "dataset": run.config.get("dataset"),
        "architecture": spec.arch,
        "labels": list(predictor.label_names),
        "tokenizer": predictor.tokenizer.name,
        "maxlen": spec.maxlen,
        "num_words": spec.num_words,
        "inference": inference_name(predictor),
        # "int8", "float" (LiteRT) or "keras": which arithmetic answers (`predict --precision`).
        "precision": getattr(predictor.model, "precision", "float"),
        "test_metrics": _test_metrics(run.path),
        "serving": serving,
    }


def inference_name(predictor) -> str:
    """`litert` or `keras`: which of the run's models answers (`rnncli predict` picks alike)."""
    from rnncli.inference import KerasModel

    return "keras" if isinstance(predictor.model, KerasModel) else "litert"


def _test_metrics(run_path) -> dict | None:
    """`metrics.json`, or None for a run that has none (an interrupted run was never tested)."""
    try:
        return runs.read_json(run_path / runs.METRICS)
    except RunError:
        return None
