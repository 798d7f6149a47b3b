"""Pictures drawn as text for the terminal: the book's loss figure, runs' validation curves,
bars and a confusion heat map (plotext for charts, rich for shaded cells)."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_colour(text: str) -> str:
    """A chart as plain text, for a file or a pipe."""
    return _ANSI.sub("", text)


#: (history key, plotext marker, colour, legend sample) per series; the sample is what the marker draws.
_SERIES = (("loss", "dot", "blue", "••"), ("val_loss", "x", "red", "xx"))


def loss_chart(history: list[dict], width: int = 70, height: int = 18, color: bool = True) -> str:
    """Training (blue) and validation (red) loss per epoch, as the book plots them.

    plotext always draws its legend inside the canvas, top left, which is where a falling loss
    starts, and puts a y label at the bottom left; so the legend goes in the title line instead
    and the title says what the y axis is.
    """
    import plotext as plt

    epochs = [entry["epoch"] for entry in history]
    shown = [s for s in _SERIES if any(s[0] in entry for entry in history)]
    plt.clf()
    plt.theme("clear")
    plt.plotsize(width, height - 1)
    for key, marker, colour, _ in reversed(shown):  # loss drawn last, on top, as before
        plt.plot(epochs, [entry.get(key) for entry in history], marker=marker, color=colour)
    plt.xlabel("epoch")
    if len(epochs) <= 20:
        plt.xticks(epochs)
    chart = plt.build()
    plt.clf()
    header = _header(shown, width, plt.colorize)
    text = header + "\n" + chart
    return text if color else _ANSI.sub("", text)


def _header(shown: tuple, width: int, colorize) -> str:
    """`Loss per epoch   •• loss   xx val_loss`, centred, each sample in its series' colour."""
    plain = "Loss per epoch" + "".join(f"   {sample} {key}" for key, _, _, sample in shown)
    pad = max(0, (width - len(plain)) // 2)
    coloured = "Loss per epoch" + "".join(
        f"   {colorize(sample, colour)} {key}" for key, _, colour, sample in shown
    )
    return " " * pad + coloured


#: Per series of a comparison: a marker that tells it apart without colour, and a colour.
_MARKERS = ("•", "x", "+", "o", "*", "#", "@", "%", "=", "~")
_COLOURS = ("blue", "red", "green", "orange", "magenta", "cyan", "yellow", "gray", "white", "violet")


def curves_chart(
    series: list[tuple[str, list[dict]]],
    key: str = "val_loss",
    title: str = "Validation loss per epoch",
    width: int = 70,
    height: int = 18,
    color: bool = True,
) -> str:
    """One history key (validation loss) of several runs in one chart, a legend line per run.

    Each run has its own marker as well as its own colour, so the chart still reads without
    colour (NO_COLOR, a pipe); the legend goes under the chart, where it hides no point.
    """
    import plotext as plt

    plt.clf()
    plt.theme("clear")
    plt.plotsize(width, max(8, height - 1))
    last = 0
    legend = []
    for index, (label, history) in enumerate(series):
        points = [
            (e.get("epoch"), e.get(key)) for e in history if _finite(e.get(key)) and _finite(e.get("epoch"))
        ]
        marker, colour = _MARKERS[index % len(_MARKERS)], _COLOURS[index % len(_COLOURS)]
        legend.append((marker * 2, colour, label if points else f"{label} (no {key} recorded)"))
        if points:
            plt.plot([p[0] for p in points], [p[1] for p in points], marker=marker, color=colour)
            last = max(last, max(int(p[0]) for p in points))
    plt.xlabel("epoch")
    if 0 < last <= 20:
        plt.xticks(list(range(1, last + 1)))
    chart = plt.build()
    plt.clf()
    lines = [" " * max(0, (width - len(title)) // 2) + title, chart]
    lines += [f"  {plt.colorize(sample, colour)} {label}" for sample, colour, label in legend]
    text = "\n".join(lines)
    return text if color else _ANSI.sub("", text)


def _finite(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value == value
        and abs(value) != float("inf")
    )


_BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int = 20, color: bool = True):
    """A horizontal bar `fraction` (0..1) of `width` cells, in eighths; red to green when coloured."""
    from rich.text import Text

    fraction = min(1.0, max(0.0, fraction if fraction == fraction else 0.0))
    eighths = round(fraction * width * 8)
    body = "█" * (eighths // 8) + (_BLOCKS[eighths % 8] if eighths % 8 else "")
    if not color:
        return Text(body.ljust(width))
    red, green = int(220 * (1 - fraction)), int(180 * fraction + 40)
    return Text(body.ljust(width), style=f"rgb({red},{green},60)")


def heat_map(title: str, names: list[str], matrix: list[list[int]], color: bool = True):
    """A confusion matrix as a table of shaded cells: rows true classes, columns predicted ones.

    Each cell is shaded by its share of the row (what became of that class's texts), green on
    the diagonal, red off it, so a class's mistakes stand out whatever its size; the count stays
    written in the cell, so the map still reads without colour. Zero cells are a dim dot.
    """
    from rich.table import Table
    from rich.text import Text

    from rnncli.console import excerpt

    result = Table(title=title, show_lines=False, padding=(0, 1))
    result.add_column("true \\ predicted", style="bold")
    for name in names:
        result.add_column(excerpt(name, 8), justify="right")
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        cells = []
        for j, count in enumerate(row):
            if count == 0:
                cells.append(Text("·", style="dim"))
                continue
            share = count / total
            if not color:
                cells.append(Text(str(count), style="bold" if i == j else ""))
                continue
            fade = int(235 - 175 * share)
            shade = f"rgb({fade},235,{fade})" if i == j else f"rgb(240,{fade},{fade})"
            cells.append(Text(str(count), style=f"black on {shade}"))
        result.add_row(excerpt(names[i], 16), *cells)
    return result
