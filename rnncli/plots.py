"""The book's loss figure, drawn as text for the terminal."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

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
