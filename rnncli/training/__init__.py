"""Use case: training a run, and resuming one. The steps live in the modules of this package:

- `run`: `train()` and `resume()`, each a short sequence of the steps below;
- `data`: settings → corpus → padded arrays (and the check that a resumed run's data is its own);
- `config`: the run's `config.json`, written at the start and read back to resume;
- `cluster`: single process or multi-worker job: seed, run directory, strategy;
- `state`: what a run continues from (nothing, a checkpoint, a multi-worker restart);
- `pipelines`: the one choice of input pipeline for `fit` and the test pass;
- `fit`: build the model, restore, train; `callbacks`: the Keras callbacks it uses;
- `finish`: test, metrics, export, `complete`, `LATEST`, cleanup;
- `outcome` and `signals`: how a run that stops early is marked, and Ctrl-C/SIGTERM.
"""

from rnncli.training.events import DataInfo, NullEvents, TrainingEvents, TrainResult
from rnncli.training.run import resume, train

__all__ = ["DataInfo", "NullEvents", "TrainResult", "TrainingEvents", "resume", "train"]
