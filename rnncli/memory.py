"""How much memory this machine can give now: the checks that refuse work before the kernel
kills the process for it (training's embedding tables, the LiteRT export of a large model)."""

from __future__ import annotations

import os


def available() -> int | None:
    """What the kernel can give now (MemAvailable), else the physical size; None if unknown.

    Now, not in total: a second training or search on the same machine leaves less, and the
    kernel's OOM killer would end this process with no message.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
