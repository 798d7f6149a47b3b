"""Median pruning among trials of the same architecture.

Optuna's pruners compare a trial's validation loss at epoch k with every completed trial's at
epoch k. Across architectures that is unfair: an `nbsvm` trial is near its best after two epochs,
a `fasttext` or recurrent trial may need twenty, so a plain median prunes the slow starters for
being slow, not for being bad. Optuna has no pruner that groups by a parameter, so this one
hands its inner pruner a view of the study that holds only the trial's own architecture.
"""

from __future__ import annotations

import optuna


class SameArchitecture(optuna.pruners.BasePruner):
    def __init__(self, inner: optuna.pruners.BasePruner) -> None:
        self.inner = inner

    def prune(self, study, trial) -> bool:
        return self.inner.prune(_Peers(study, trial.params.get("arch")), trial)


class _Peers:
    """What a percentile pruner reads of a study (`direction`, `get_trials`), one architecture's."""

    def __init__(self, study, arch: object) -> None:
        self.study = study
        self.arch = arch

    @property
    def direction(self):
        return self.study.direction

    def get_trials(self, deepcopy: bool = True, states=None):
        trials = self.study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get("arch", self.arch) == self.arch]
