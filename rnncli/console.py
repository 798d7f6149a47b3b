"""Rich rendering for the CLI: progress bars, the training display, tables.

Results go to stdout; progress, warnings and errors go to stderr. Colour follows `NO_COLOR` and
whether the stream is a terminal (rich decides), and bars are drawn only on a terminal.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from rnncli.lineout import json_line, write_line  # noqa: F401 - re-exported for the CLI


class _Console(Console):
    """A rich Console that leaves a closed pipe to the CLI: rich's own answer is `exit 1`."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


def color_enabled() -> bool:
    return out.is_terminal and not os.environ.get("NO_COLOR")


def bars_enabled() -> bool:
    return err.is_terminal and not os.environ.get("RNNCLI_NO_PROGRESS")


class _RichTask:
    def __init__(self, progress: Progress, task: TaskID, owns: bool) -> None:
        self.progress = progress
        self.id = task
        self.owns = owns

    def advance(self, amount: float = 1) -> None:
        self.progress.advance(self.id, amount)

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        self.progress.update(self.id, total=total, description=description)

    def close(self) -> None:
        self.progress.remove_task(self.id)
        if self.owns and not self.progress.tasks:
            self.progress.stop()


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        pass

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class _RemainingColumn(ProgressColumn):
    """`ETA 0:01:02` for a bar whose total is what will run; a task's own `pace` text otherwise.

    The epoch bar's total is `--epochs`, a ceiling that early stopping usually ends far sooner,
    so an ETA from it overstates by hours; that bar shows the time per epoch instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self._eta = TimeRemainingColumn()

    def render(self, task: Task) -> Text:
        pace = task.fields.get("pace")
        if pace is not None:
            return Text(pace, style="progress.remaining")
        return Text.assemble("ETA ", self._eta.render(task))


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        _RemainingColumn(),
        console=err,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )


class RichReporter:
    """Draws each library task as a transient bar on stderr; warnings as one yellow line."""

    def __init__(self) -> None:
        self.progress: Progress | None = None

    def task(self, description: str, total: float | None = None, unit: str = "") -> _RichTask | _NullTask:
        if not bars_enabled():
            return _NullTask()
        if self.progress is None or not self.progress.live.is_started:
            self.progress = _progress()
            self.progress.start()
        return _RichTask(self.progress, self.progress.add_task(description, total=total, extra=unit), True)

    def warn(self, message: str) -> None:
        err.print(f"[yellow]warning:[/yellow] {message}")

    def info(self, message: str) -> None:
        err.print(message)


def _fmt(logs: dict[str, float], keys: tuple[str, ...]) -> str:
    return "  ".join(f"{key} {logs[key]:.4f}" for key in keys if key in logs)


class TrainDisplay:
    """Renders training events: the book's preamble, epoch and batch bars, one line per epoch."""

    def __init__(self, bars: bool | None = None) -> None:
        self.progress: Progress | None = None
        self.epoch_task: TaskID | None = None
        self.batch_task: TaskID | None = None
        self.epochs = 0
        #: Live bars on stderr: on a terminal unless RNNCLI_NO_PROGRESS (None), or as told.
        self.bars = bars
        #: Seconds each epoch of this process took, for the epoch bar's pace.
        self.epoch_seconds: list[float] = []
        self._epoch_started: float | None = None
        # When stdout and stderr share a terminal, epoch lines go above the live bars.
        self.same_terminal = out.is_terminal and err.is_terminal

    def _line(self, text: str) -> None:
        if self.progress is not None and self.same_terminal:
            self.progress.console.print(text)
        else:
            out.print(text)

    def on_data(self, info) -> None:
        out.print(f"{len(info.label_names)} categories")
        out.print(f"{info.train_count} training texts")
        if info.validate_on_test:
            out.print(
                f"{info.test_count} test texts [bold](also used for validation and early stopping, "
                "as the book does: --val test)[/bold]"
            )
        elif not info.validates:
            out.print("no validation texts (--val none: the lowest training loss picks the best epoch)")
            out.print(f"{info.test_count} test texts")
        else:
            out.print(f"{info.val_count} validation texts (held out from the training split)")
            out.print(f"{info.test_count} test texts")
        shown = info.example[:30]
        tail = ", ..." if len(info.example) > 30 else ""
        out.print(f"[{', '.join(map(str, shown))}{tail}]")
        seed = getattr(info, "seed", None)
        if seed is not None and not getattr(info, "seed_given", True):
            # A drawn seed is the only way to repeat a run that turned out well.
            out.print(f"Seed: {seed} (drawn; --seed {seed} repeats this run)", markup=False)

    def on_strategy(self, info) -> None:
        """One line: the strategy, the replicas, this process's devices and the batch they share."""
        replicas = f"{info.replicas} replica{'s' if info.replicas != 1 else ''}"
        devices = ", ".join(_short_device(device) for device in info.devices)
        where = f"on {devices}"
        if info.workers > 1:
            role = "the chief, writes the run" if info.chief else "scratch only; the chief writes the run"
            where = f"over {info.workers} workers; this is {info.task} ({role}) {where}"
        if info.replicas > 1:
            per = info.per_replica_batch
            per_text = f"{per:g}" if per == int(per) else f"about {per:.1f}"
            batch = f"global batch {info.global_batch} ({per_text} per replica)"
        else:
            batch = f"batch {info.global_batch}"
        out.print(f"Strategy: {info.name}, {replicas} {where}; {batch}")

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir: Path) -> None:
        self.epochs = epochs
        out.print(f"Run directory: {run_dir}")
        if not (bars_enabled() if self.bars is None else self.bars):
            return
        self.progress = _progress()
        self.progress.start()
        self.epoch_task = self.progress.add_task("epoch", total=epochs, extra="", pace="")
        self.batch_task = self.progress.add_task("batch", total=steps_per_epoch, extra="")

    def on_resume(
        self, epoch: int, best_epoch: int, best_loss: float | None, monitor: str = "val_loss"
    ) -> None:
        best = "no best yet" if best_loss is None else f"best epoch {best_epoch}, {monitor} {best_loss:.4f}"
        out.print(f"Resuming after epoch {epoch}/{self.epochs} ({best})")
        if self.progress is not None:
            self.progress.update(self.epoch_task, completed=epoch)

    def on_epoch_begin(self, epoch: int) -> None:
        self._epoch_started = time.monotonic()
        if self.progress is not None:
            self.progress.reset(self.batch_task, extra="")
            self.progress.update(self.epoch_task, description=f"epoch {epoch}/{self.epochs}")

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        if self.progress is not None:
            self.progress.update(self.batch_task, completed=step, extra=_fmt(logs, ("loss", "accuracy")))

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None:
        if self._epoch_started is not None:
            self.epoch_seconds.append(time.monotonic() - self._epoch_started)
        if self.progress is not None:
            self.progress.update(self.epoch_task, advance=1, pace=self.pace())
        metrics = _fmt(logs, ("loss", "accuracy", "val_loss", "val_accuracy"))
        mark = "  [green]best[/green]" if improved else ""
        self._line(f"Epoch {epoch}/{self.epochs}  {metrics}  {logs.get('seconds', 0):.1f}s{mark}")

    def pace(self) -> str:
        """`12.3s/epoch`: the mean epoch time so far, the honest part of how long training takes."""
        if not self.epoch_seconds:
            return ""
        return f"{sum(self.epoch_seconds) / len(self.epoch_seconds):.1f}s/epoch"

    def on_evaluate_begin(self) -> None:
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _short_device(name: str) -> str:
    """`/job:worker/replica:0/task:1/device:CPU:0` -> `worker 1 CPU:0`; local names -> `CPU:0`."""
    parts = dict(part.split(":", 1) for part in name.strip("/").split("/") if ":" in part)
    device = parts.get("device", name)
    if parts.get("job") in ("chief", "worker"):
        return f"{parts['job']} {parts.get('task', '0')} {device}"
    return device


def excerpt(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(
    title: str | None, columns: list[str], rows: list[list[str]], right: set[int] = frozenset()
) -> Table:
    result = Table(title=title, show_lines=False)
    for index, column in enumerate(columns):
        result.add_column(column, justify="right" if index in right else "left")
    for row in rows:
        result.add_row(*row)
    return result


def explanation_lines(explanation, color: bool) -> list:
    """The input with each word shaded by weight (or followed by [weight]), then the top words."""
    from rich.text import Text

    prediction = explanation.prediction
    header = f"{prediction.label} {prediction.probability:.4f} ({explanation.method})"
    text = prediction.text
    scale = max((abs(w.weight) for w in explanation.words), default=0.0) or 1.0
    if color:
        shaded = Text(text)
        for word in explanation.words:
            strength = abs(word.weight) / scale
            if not word.seen or strength < 0.02:
                continue
            # Warm for words that pushed towards the label, cool for words that pushed away.
            fade = int(255 - 180 * strength)
            rgb = f"rgb(255,{fade},{fade // 2})" if word.weight > 0 else f"rgb({fade},{fade},255)"
            shaded.stylize(f"black on {rgb}", word.start, word.end)
        body: object = shaded
    else:
        pieces, last = [], 0
        for word in explanation.words:
            mark = f"[{word.weight:.3f}]" if word.seen else "[cut]"
            pieces.append(text[last : word.end] + mark)
            last = word.end
        body = "".join(pieces) + text[last:]
    top = ", ".join(f"{w.word} {w.weight:.3f}" for w in explanation.top())
    return [header, body, f"top words: {top}" if top else "top words: (none the model knows)"]


def cell(value: object) -> str:
    """One field of a TSV line: what a pipeline reads; '-' for nothing, never a tab or line break."""
    if value is None or value == "":
        return "-"
    return " ".join(str(value).split()) if any(c in str(value) for c in "\t\r\n") else str(value)


def tsv_line(fields: list[object]) -> None:
    """A tab-separated line on stdout, for `cut`, `sort -t$'\\t'` and `awk -F'\\t'`."""
    write_line("\t".join(cell(field) for field in fields))


def key_values(title: str | None, pairs: list[tuple[str, str]]) -> Table:
    """Settings or metrics as two columns, names dim: for `runs show` on a terminal."""
    result = Table(title=title, show_header=False, box=None, padding=(0, 2, 0, 0), title_justify="left")
    result.add_column(style="dim")
    result.add_column()
    for key, value in pairs:
        result.add_row(key, value)
    return result


def note(message: str) -> None:
    """A line for the person at the terminal, on stderr; taken literally (no markup)."""
    err.print(Text(message))


def warning(message: str) -> None:
    """`warning: MESSAGE` on stderr, the prefix in yellow; the message taken literally."""
    err.print(Text.assemble(("warning: ", "yellow"), message))


#: How each status of `rnncli runs` is coloured: finished green, resumable yellow, lost red.
_STATUS_STYLES = {
    "complete": "green",
    "interrupted": "yellow",
    "running": "cyan",
    "killed": "red",
    "failed": "red",
    "damaged": "bold red",
    "not a run": "dim",
}


def status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def rows_out(title: str | None, columns: list[str], rows: list[list], right: set[int] = frozenset()) -> None:
    """Rows as a table on a terminal; piped, a TSV header line and TSV lines (cells as plain text)."""
    if out.is_terminal:
        out.print(table(title, columns, rows, right))
        return
    tsv_line(columns)
    for row in rows:
        tsv_line([value.plain if isinstance(value, Text) else value for value in row])


def figure(value: float | None) -> str:
    """A metric to four decimals, as train and evaluate print them; '-' when not recorded."""
    return "-" if value is None else f"{value:.4f}"


def minutes(value: float | None) -> str:
    """Minutes to one decimal; under one, two, so a run of seconds does not read as 0.0."""
    return "-" if value is None else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def setting(value: object) -> str:
    """A setting as a user reads it: strings as they are, the rest as JSON ('-' for null)."""
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
