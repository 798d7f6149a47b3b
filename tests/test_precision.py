"""`train --precision mixed`: 16-bit layers while training, float32 weights and a float32 run.

Both mixed policies run here on the CPU: float16 (what a GPU gets, with loss scaling) is slow on
a CPU but correct, so every architecture is checked under each.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from rnncli.models import factories
from rnncli.models.precision import dtype_policy, float_twin, policy_name
from rnncli.models.registry import ARCHITECTURES, NGRAM_ARCHS, ModelSpec
from tests.conftest import run_cli


def _spec(arch: str) -> ModelSpec:
    return ModelSpec(
        arch, num_words=50, maxlen=20, num_classes=3, embedding_dim=8, units=6, dropout=0.0, mask=True,
        buckets=97 if arch in NGRAM_ARCHS else 0, optimizer="lazy-adam" if arch in NGRAM_ARCHS else "adam",
    )  # fmt: skip


def _data() -> tuple[np.ndarray, np.ndarray]:
    """Pre-padded rows whose class is told by which third of the vocabulary their words are in."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, 96)
    x = np.zeros((96, 20), dtype="int32")
    for row, label in enumerate(labels):
        length = rng.integers(2, 21)
        x[row, 20 - length :] = rng.integers(4 + 15 * label, 19 + 15 * label, length)
    return x, labels.astype("int32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_trains_in_16_bits_and_its_float32_twin_agrees(arch, policy):
    from rnncli.backend import keras

    x, y = _data()
    spec = _spec(arch)
    model = factories.build(spec, policy=policy)
    assert keras().config.dtype_policy().name == "float32"  # the global policy is left as it was
    assert model.get_layer("embedding").compute_dtype == policy.removeprefix("mixed_")
    assert model.get_layer("embedding").variable_dtype == "float32"
    assert model.output.dtype == "float32"  # the probabilities stay float32
    scaled = type(model.optimizer).__name__ == "LossScaleOptimizer"
    assert scaled == (policy == "mixed_float16")  # bfloat16 has float32's range: nothing to scale
    factories.fit_to_data(model, spec, x, y)
    losses = model.fit(x, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
    twin = float_twin(model, lambda: factories.build(spec))
    assert {layer.compute_dtype for layer in twin.layers if layer.weights} == {"float32"}
    for ours, theirs in zip(twin.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    # The same weights in 16-bit and in 32-bit arithmetic give nearly the same probabilities.
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.05)


def test_float_is_float32_and_mixed_is_bfloat16_without_a_gpu():
    from rnncli.backend import tensorflow

    assert policy_name("float") == "float32"
    gpus = tensorflow().config.list_logical_devices("GPU")
    assert policy_name("mixed") == ("mixed_float16" if gpus else "mixed_bfloat16")


def test_the_global_policy_is_restored_when_building_fails():
    from rnncli.backend import keras

    with pytest.raises(RuntimeError), dtype_policy("mixed_bfloat16"):
        assert keras().config.dtype_policy().name == "mixed_bfloat16"
        raise RuntimeError
    assert keras().config.dtype_policy().name == "float32"


def _layer_policies(model_file) -> set[str]:
    with zipfile.ZipFile(model_file) as archive:
        config = json.loads(archive.read("config.json"))
    found = set()
    for layer in config["config"]["layers"]:
        dtype = layer["config"].get("dtype")
        if isinstance(dtype, dict):
            found.add(dtype["config"]["name"])
    return found


def test_a_mixed_run_records_it_and_saves_tests_and_evaluates_in_float32(tmp_path, tiny_csv):
    run = tmp_path / "run"
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    trained = run_cli(
        "train", str(tiny_csv), "--arch", "attention", "--precision", "mixed", "--epochs", "2",
        "--seed", "1", "--maxlen", "12", "--no-plot", "--out", str(run), env=env,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr.decode()
    assert json.loads((run / "config.json").read_text())["training"]["precision"] == "mixed"
    assert _layer_policies(run / "model.keras") == {"float32"}
    evaluated = run_cli("evaluate", str(run), "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    metrics = json.loads((run / "metrics.json").read_text())
    # The run's test figure is the saved float32 model's: evaluate reproduces it.
    assert json.loads(evaluated.stdout)["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    predicted = run_cli("predict", "--model", str(run), "good film great", env=env)
    assert predicted.returncode == 0, predicted.stderr.decode()


def test_an_unknown_precision_is_one_line_before_anything_loads(tmp_path, tiny_csv):
    result = run_cli("train", str(tiny_csv), "--precision", "half", env={"RNNCLI_RUNS": str(tmp_path)})
    assert result.returncode == 2
    message = "rnncli: error: --precision must be one of float, mixed, got 'half'"
    assert result.stderr.decode().strip() == message
