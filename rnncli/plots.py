"""The book's loss figure, drawn as text for the terminal."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def loss_chart(history: list[dict], width: int = 70, height: int = 18, color: bool = True) -> str:
    """Training (blue) and validation (red) loss per epoch, as the book plots them."""
    import plotext as plt

    epochs = [entry["epoch"] for entry in history]
    plt.clf()
    plt.theme("clear")
    plt.plotsize(width, height)
    if any("val_loss" in entry for entry in history):
        plt.plot(epochs, [e.get("val_loss") for e in history], label="val_loss", marker="x", color="red")
    plt.plot(epochs, [e.get("loss") for e in history], label="loss", marker="dot", color="blue")
    plt.title("Loss per epoch")
    plt.xlabel("epoch")
    plt.ylabel("loss")
    if len(epochs) <= 20:
        plt.xticks(epochs)
    chart = plt.build()
    plt.clf()
    return chart if color else _ANSI.sub("", chart)
