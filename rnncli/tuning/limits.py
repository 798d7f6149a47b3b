"""How long a search may run: a wall-clock budget, a number of trials, or both (first reached)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rnncli.errors import UsageError

#: Below this a budget cannot hold one trial of any model: a trial starts TensorFlow's graph,
#: reads its data and runs at least one epoch.
MIN_BUDGET_SECONDS = 30
#: The budget when neither --budget nor --trials is given (fastText's autotune default is 5 minutes;
#: rnncli's models train for longer).
DEFAULT_BUDGET_SECONDS = 30 * 60

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT = {"h": 3600, "m": 60, "s": 1}


def parse_budget(text: str) -> float:
    """`90s`, `30m`, `2h`, `1h30m` -> seconds; a bare number is refused (minutes or seconds?)."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise UsageError(f"--budget must be a duration such as 90s, 30m or 1h30m, got {text!r}")
    return sum(float(number) * _UNIT[unit] for number, unit in parts)


@dataclass(frozen=True)
class Limits:
    """What ends this process's search: seconds of wall clock, and trials finished in the study."""

    seconds: float | None
    trials: int | None

    @classmethod
    def of(cls, budget: str | None, trials: int | None) -> Limits:
        """Checked before anything trains: a limit that cannot hold one trial is a usage error."""
        seconds = parse_budget(budget) if budget is not None else None
        if seconds is not None and seconds < MIN_BUDGET_SECONDS:
            raise UsageError(
                f"--budget {budget} cannot hold one trial", f"give at least {MIN_BUDGET_SECONDS}s"
            )
        if trials is not None and trials < 1:
            raise UsageError(f"--trials must be at least 1, got {trials}")
        if seconds is None and trials is None:
            seconds = float(DEFAULT_BUDGET_SECONDS)
        return cls(seconds, trials)

    def describe(self) -> str:
        parts = []
        if self.trials is not None:
            parts.append(f"{self.trials} trial{'s' if self.trials != 1 else ''}")
        if self.seconds is not None:
            parts.append(_duration(self.seconds))
        return " or ".join(parts)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
