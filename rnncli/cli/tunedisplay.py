"""How `rnncli tune` looks while it searches and when it ends.

On a terminal: one live block on stderr with the search's bar (trials or budget), the best
trials so far, and the trial in progress with its epoch and batch bars; one line per finished
trial above it. Elsewhere (a pipe, a log): the lines alone.
"""

from __future__ import annotations

import time

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rnncli import console
from rnncli.tuning.records import TrialRecord, describe

#: Rows of the live table and of the final one.
SHOWN_BEST = 5


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def best_table(found: list[TrialRecord], title: str = "Best trials so far") -> Table:
    ranked = sorted(
        (r for r in found if r.state == "complete" and r.val_loss is not None), key=lambda r: r.val_loss
    )[:SHOWN_BEST]
    table = Table(title=title, title_justify="left", box=None, padding=(0, 2, 0, 0))
    for name, right in (
        ("trial", True),
        ("val_loss", True),
        ("val_acc", True),
        ("epochs", True),
        ("s", True),
    ):
        table.add_column(name, justify="right" if right else "left")
    table.add_column("settings", overflow="fold")
    for r in ranked:
        table.add_row(
            str(r.number),
            _fmt(r.val_loss),
            _fmt(r.val_accuracy),
            f"{r.best_epoch}/{r.epochs}",
            f"{r.seconds or 0:.0f}",
            describe(r.settings),
        )
    return table


class _TrialEvents:
    """The trial's training events, drawn as an epoch bar and a batch bar."""

    def __init__(self, owner: TuneDisplay) -> None:
        self.owner = owner
        self.epochs = 0

    def on_data(self, info) -> None:
        pass

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir) -> None:
        self.epochs = epochs
        bars = self.owner.trial_bars
        if bars is not None:
            for task in list(bars.task_ids):
                bars.remove_task(task)
            self.owner.epoch_task = bars.add_task("epoch", total=epochs, extra="")
            self.owner.batch_task = bars.add_task("batch", total=steps_per_epoch, extra="")

    def on_epoch_begin(self, epoch: int) -> None:
        bars = self.owner.trial_bars
        if bars is not None:
            bars.reset(self.owner.batch_task, extra="")
            bars.update(self.owner.epoch_task, description=f"epoch {epoch}/{self.epochs}")
        self.owner.tick()

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        bars = self.owner.trial_bars
        if bars is not None:
            loss = logs.get("loss")
            bars.update(
                self.owner.batch_task, completed=step, extra="" if loss is None else f"loss {loss:.4f}"
            )
            self.owner.tick()

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None:
        bars = self.owner.trial_bars
        if bars is not None:
            val = logs.get("val_loss")
            bars.update(self.owner.epoch_task, advance=1, extra="" if val is None else f"val_loss {val:.4f}")

    def on_evaluate_begin(self) -> None:
        pass


class TuneDisplay:
    """Renders a search's events (`rnncli.tuning.events.TuneEvents`)."""

    def __init__(self) -> None:
        self.trial = _TrialEvents(self)
        self.live: Live | None = None
        self.search_bar: Progress | None = None
        self.trial_bars: Progress | None = None
        self.search_task = self.epoch_task = self.batch_task = None
        self.info = None
        self.started = time.monotonic()
        self.found: list[TrialRecord] = []
        self.current = ""

    def on_study(self, info) -> None:
        self.info = info
        self.started = time.monotonic()
        archs = ",".join(info.space.archs)
        console.out.print(
            f"Study {info.name}: {info.folder} (trials in {info.storage}); seed {info.seed}", markup=False
        )
        before = f"; {info.finished_before} trials finished before" if info.finished_before else ""
        console.out.print(f"Searching {archs} for {info.limits.describe()}{before}", markup=False)
        if info.orphans:
            numbers = ", ".join(map(str, info.orphans))
            what = f"Trials {numbers} were" if len(info.orphans) > 1 else f"Trial {numbers} was"
            console.out.print(f"{what} left running by a process that ended: marked failed")
        if console.bars_enabled():
            self._start_live(info)

    def _start_live(self, info) -> None:
        self.search_bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console.err,
        )
        limits = info.limits
        if limits.trials is not None:
            self.search_task = self.search_bar.add_task(
                "trials", total=limits.trials, completed=info.finished_before
            )
        else:
            self.search_task = self.search_bar.add_task("budget (s)", total=int(limits.seconds))
        self.trial_bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            console=console.err,
        )
        self.live = Live(self._group(), console=console.err, transient=True, refresh_per_second=4)
        self.live.start()

    def _group(self) -> Group:
        parts = [self.search_bar, best_table(self.found)]
        if self.current:
            parts.append(self.current)
        parts.append(self.trial_bars)
        return Group(*parts)

    def tick(self) -> None:
        """The budget bar follows the clock (called as batches end)."""
        if self.search_bar is not None and self.info is not None and self.info.limits.trials is None:
            self.search_bar.update(
                self.search_task, completed=min(time.monotonic() - self.started, self.info.limits.seconds)
            )

    def on_trial_begin(self, number: int, chosen: dict) -> None:
        self.current = f"trial {number}: {describe(chosen)}"
        if self.live is not None:
            self.live.update(self._group())

    def on_trial_end(self, record: TrialRecord, found: list[TrialRecord]) -> None:
        self.found = found
        line = _trial_line(record)
        if self.live is not None:
            self.live.console.print(line, markup=False, highlight=False)
            if self.info.limits.trials is not None:
                self.search_bar.update(self.search_task, completed=sum(r.finished for r in found))
            self.tick()
            self.current = ""
            self.live.update(self._group())
        else:
            console.out.print(line, markup=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _trial_line(r: TrialRecord) -> str:
    epochs = "-" if r.epochs is None else f"epochs {r.best_epoch}/{r.epochs}"
    seconds = "" if r.seconds is None else f"  {r.seconds:.0f}s"
    state = r.state + (f" ({r.note})" if r.note and r.state != "complete" and r.note != r.state else "")
    return (
        f"Trial {r.number} {state}  val_loss {_fmt(r.val_loss)}  val_acc {_fmt(r.val_accuracy)}  "
        f"{epochs}{seconds}  {describe(r.settings)}"
    )


def report_search(result, request, plot: bool) -> None:
    """The end of a search: why it stopped, the best trials, the chart, the preset file."""
    from rnncli.tuning import records

    found = result.found
    counts = {state: sum(r.state == state for r in found) for state in ("complete", "pruned", "failed")}
    why = {"trials": "the trial count was reached", "budget": "the budget was spent"}.get(result.reason, "")
    console.out.print(
        f"\nSearch stopped: {why}. This process ran {result.ran} trial(s); the study has "
        f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed",
        markup=False,
    )
    console.out.print(
        f"Trials: {result.folder / records.TRIALS_JSONL} and {result.folder / records.TRIALS_TABLE}"
    )
    if result.best is None:
        console.out.print("No trial completed: no best settings yet (the same command continues the study)")
        return
    console.out.print(best_table(found, title="Best trials"))
    if plot:
        console.out.print(records.chart(found, color=console.color_enabled()), markup=False, highlight=False)
    best = result.best
    console.out.print(
        f"Best: trial {best.number}, val_loss {_fmt(best.val_loss)}, val_acc {_fmt(best.val_accuracy)}: "
        f"{describe(best.settings)}",
        markup=False,
    )
    preset = result.folder / records.BEST_PRESET
    console.out.print(
        f"Preset file: {preset} (rnncli train {request.dataset} --preset-file {preset})", markup=False
    )
    if best.best_epoch:
        console.out.print(
            f"Final fit on every training text: rnncli train {request.dataset} --preset-file {preset} "
            f"--val none --epochs {best.best_epoch}",
            markup=False,
        )
