"""Finishing a run: test the best model once, record the metrics, export, then mark it complete.

The order is the promise of docs/reliability.md: `status.json` says `complete` (and `LATEST`
moves) only after the model, the metrics and the exports are in place; checkpoints go last, so
a kill at any moment before leaves a run that `--resume` finishes.
"""

from __future__ import annotations

import errno
import math
import shutil
from pathlib import Path

import numpy as np

from rnncli import batching, checkpoints, runs
from rnncli.distribute import Distribution
from rnncli.errors import RunError
from rnncli.models.precision import FLOAT
from rnncli.models.registry import ModelSpec
from rnncli.progress import Reporter
from rnncli.settings import TrainSettings
from rnncli.training.data import Arrays
from rnncli.training.events import TrainResult
from rnncli.training.pipelines import Inputs


def finish_run(
    model,
    best_weights: list | None,
    inputs: Inputs,
    dist: Distribution,
    spec: ModelSpec,
    settings: TrainSettings,
    arrays: Arrays,
    result: TrainResult,
    events,
    reporter: Reporter,
) -> TrainResult:
    """Test, write metrics, export, mark complete and latest, remove checkpoints."""
    run_dir = result.run_dir
    if not result.best_epoch:
        raise _never_finite(result, settings)
    if best_weights is not None:
        model.set_weights(best_weights)
    # Every worker evaluates the chief's best model (a restarted worker may not have kept it).
    dist.sync_from_chief(model.weights)
    if settings.precision != FLOAT:
        model = _float_model(model, spec, dist, run_dir)
    events.on_evaluate_begin()
    result.test_loss, result.test_accuracy = _test(model, inputs, dist)
    if not dist.info.chief:
        return result
    if not dist.default:
        # Exported from the saved best model, outside any strategy's scope.
        from rnncli.models import persist

        model = persist.load(run_dir / runs.MODEL, spec)
    # Never the test set: the int8 check must not see what the run's figures are measured on.
    # With `--val none` there is nothing to check on: the int8 twins are not made.
    held_out = (arrays.x_val, arrays.y_val) if settings.holds_out else None
    check = export_for_inference(model, spec, run_dir, export_sample(arrays.x_test), reporter, held_out)
    metrics = {
        "test_loss": _finite_or_none(result.test_loss),
        "test_accuracy": _finite_or_none(result.test_accuracy),
        "best_epoch": result.best_epoch,
        "epochs_run": result.stopped_epoch,
        "train_seconds": round(result.seconds, 2),
        "validated_on": _validated_on(settings),
    }
    runs.write_json(
        run_dir / runs.METRICS, metrics if check is None else {**metrics, "int8": check.to_dict()}
    )
    runs.set_status(run_dir, runs.COMPLETE, best_epoch=result.best_epoch)
    runs.mark_latest(run_dir)
    # Only now: a kill before `complete` must still find the checkpoint to resume from.
    runs.remove_checkpoints(run_dir)
    if dist.multi_worker:
        shutil.rmtree(run_dir / checkpoints.BACKUP, ignore_errors=True)
        checkpoints.remove_best_files(run_dir, keep=set())
    return result


def _float_model(model, spec: ModelSpec, dist: Distribution, run_dir: Path):
    """The best weights in a float32 model, saved as the run's model: whatever arithmetic a run
    trained in, it is tested, evaluated, served and exported in float32 (`models.precision`)."""
    from rnncli.models import factories, persist
    from rnncli.models.precision import float_twin

    with dist.scope():
        twin = float_twin(model, lambda: factories.build(spec))
    if dist.info.chief:
        persist.save(twin, run_dir / runs.MODEL)
    return twin


def _test(model, inputs: Inputs, dist: Distribution) -> tuple[float, float]:
    from rnncli.training.cluster import lost_workers

    with lost_workers(dist):
        if inputs.distributed:
            with dist.running():
                loss, accuracy = model.evaluate(**inputs.test_args(), verbose=0)
        else:
            loss, accuracy = model.evaluate(**inputs.test_args(), verbose=0)
    return float(loss), float(accuracy)


def _validated_on(settings: TrainSettings) -> str:
    if settings.holds_out:
        return "held-out training split"
    return "test" if settings.validate_on_test else "none (best epoch by training loss)"


def _never_finite(result: TrainResult, settings: TrainSettings) -> RunError:
    """A run with no best epoch: every monitored loss (validation; training with `--val none`) was NaN."""
    key = settings.monitor
    losses = ", ".join(f"{entry.get(key, float('nan')):.4g}" for entry in result.history[-3:])
    what = "validation loss" if settings.validates else "training loss"
    return RunError(
        f"training never reached a finite {what} (last {key}: {losses}); the run is marked failed",
        f"lower --learning-rate (was {settings.learning_rate:g}) or check the data",
    )


def _export_fits(model, reporter: Reporter) -> bool:
    """Skip the export, with a warning, when converting would need more memory than is free.

    The Keras model is already saved; the kernel killing the process mid-conversion would leave
    a trained run unfinished for an extra it can do without.
    """
    from rnncli.memory import available
    from rnncli.models.export import conversion_bytes

    needed, free = conversion_bytes(model), available()
    if free is None or needed <= free:
        return True
    reporter.warn(
        f"exporting {model.count_params():,} weights for fast inference needs about "
        f"{needed / 1024**3:.1f} GiB and {free / 1024**3:.1f} GiB is available; skipped, predict "
        "will use Keras (slower start)"
    )
    return False


def _finite_or_none(value: float) -> float | None:
    """Strict JSON has no NaN: a figure that is not a number is recorded as null."""
    return value if math.isfinite(value) else None


def export_sample(x: np.ndarray, per_band: int = 16) -> np.ndarray:
    """Test rows of every length band, so each narrow export is checked on texts it will serve."""
    order = np.argsort(batching.lengths_of(x), kind="stable")
    bands = np.array_split(order, 8)
    return x[
        np.concatenate([band[:: max(1, len(band) // per_band)][:per_band] for band in bands if len(band)])
    ]


def export_for_inference(
    model,
    spec: ModelSpec,
    run_dir: Path,
    sample: np.ndarray,
    reporter: Reporter,
    held_out: tuple[np.ndarray, np.ndarray] | None = None,
):
    """Best effort: a run without the LiteRT file still predicts, through Keras.

    With `held_out` rows enough to check on (`rnncli.models.quantize`), int8 twins are written
    too and kept if they score as well; returns that check (an `Int8Check`), or None.
    """
    from rnncli.inference import LITERT_FILE, litert_available
    from rnncli.models.export import export_all, planned_widths
    from rnncli.models.quantize import MIN_ROWS, quantize_all

    if not litert_available():
        reporter.warn("ai-edge-litert is not installed; predict will use Keras (slower start)")
        return None
    if not _export_fits(model, reporter):
        return None
    widths = planned_widths(spec, sample)
    int8 = held_out is not None and len(held_out[0]) >= MIN_ROWS
    task = reporter.task("Exporting for fast inference (LiteRT)", len(widths) * (2 if int8 else 1), "files")
    done = []

    def started(width: int, kind: str = "") -> None:
        if done:
            task.advance()
        done.append(width)
        task.update(description=f"Exporting for fast inference (LiteRT{kind}, {width} tokens)")

    try:
        written = export_all(model, spec, run_dir, sample, started)
        check = None
        if int8:
            x_val, y_val = held_out
            check = quantize_all(model, spec, run_dir, written, x_val, y_val, lambda w: started(w, " int8"))
        task.advance()  # the last file's tick: the bar ends full
        return check
    except Exception as exc:  # noqa: BLE001 - the Keras model is saved; export is an extra
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise  # a full disk interrupts the run (resumable), it is no failed conversion
        kept = sorted(p.name for p in Path(run_dir).glob("model*.tflite"))
        if (Path(run_dir) / LITERT_FILE).is_file():
            what = f"kept {', '.join(kept)}, which predict uses"
        else:
            what = "no LiteRT file kept; predict will use Keras (slower start)"
        reporter.warn(f"LiteRT export failed at {done[-1] if done else '?'} tokens ({exc}); {what}")
        for path in Path(run_dir).glob("model*.int8.tflite"):
            path.unlink(missing_ok=True)  # int8 files are only kept once checked
        return None
    finally:
        task.close()
