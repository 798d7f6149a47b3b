"""Keras is set up in one place, whichever rnncli module asks for it first."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_LAYERS_FIRST = """
import rnncli.models.layers  # first, before anything has set up TensorFlow
import tensorflow as tf
from rnncli import distribute
print(len(tf.config.list_logical_devices("CPU")), distribute.make("mirrored", 4, False).info.replicas)
"""


def test_cpu_devices_apply_when_the_layers_are_imported_first(tmp_path):
    env = {**os.environ, "RNNCLI_CPU_DEVICES": "2", "KERAS_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", _LAYERS_FIRST], capture_output=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().split() == ["2", "2"]


def test_an_inherited_keras_backend_does_not_take_over(cli, tmp_path):
    # rnncli is a TensorFlow program: a shell's KERAS_BACKEND=jax (JAX not even installed)
    # once made every command that builds a model fail with "unexpected ModuleNotFoundError".
    env = {"KERAS_BACKEND": "jax", "KERAS_HOME": str(tmp_path)}
    result = cli("summary", "--arch", "lstm", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["total_params"] == 580_501 and result.stderr == b""
