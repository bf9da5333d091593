"""What every benchmark shares: run options, timing, and the table it prints."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """How hard to run: timed repeats per case, each after one untimed warm-up."""

    #: Timed runs per case; the table shows their median.
    repeats: int = 5
    #: A quick look (fewer repeats); numbers are noisier.
    quick: bool = False


def timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """``fn(*args)``'s result and the seconds it took (wall clock)."""
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def progress(message: str) -> None:
    """A progress line on stderr, so that a long run shows where it is."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


def median_ms(seconds: list[float]) -> float:
    """Median of timings in seconds, in milliseconds."""
    return 1000.0 * statistics.median(seconds)


def fmt_ms(ms: float) -> str:
    """Milliseconds with sensible precision: '7.9', '312', '14 512'."""
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}".replace(",", " ")


def fmt_bytes(n: float) -> str:
    """Bytes in decimal units, as network payloads are usually quoted."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_ratio(ratio: float) -> str:
    """A ratio such as '45.3x' ('0.52x' when below one)."""
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


@dataclass(frozen=True)
class Target:
    """A target of the product's performance issue, and whether this run met it."""

    #: What is measured: "map frame 1/12° globe vs gv.Image+rasterize".
    name: str
    #: The measurement, formatted: "46.2x faster", "180 ms".
    measured: str
    #: The target, formatted: ">= 10x", "<= 250 ms".
    target: str
    met: bool
    #: False when this run cannot test the target (a ``--quick`` run's smaller store).
    tested: bool = True

    @property
    def verdict(self) -> str:
        """ "pass", "MISS", or "not tested"."""
        if not self.tested:
            return "not tested"
        return "pass" if self.met else "MISS"


@dataclass
class Table:
    """One benchmark's result: a table of cases, then notes (breakdowns) and its targets."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def render(self) -> str:
        """The table as aligned text, first column left-aligned and the others right."""
        cells = [self.columns, *self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]

        def line(row: list[str]) -> str:
            parts = [row[0].ljust(widths[0])]
            parts += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            return " | ".join(parts)

        rule = "-+-".join("-" * w for w in widths)
        out = [self.title, "", line(self.columns), rule, *(line(row) for row in self.rows)]
        if self.notes:
            out += ["", *(f"- {note}" for note in self.notes)]
        for target in self.targets:
            out.append(
                f"- target: {target.name} {target.target}: {target.verdict} ({target.measured})"
            )
        return "\n".join(out)


def summary(targets: list[Target]) -> Table:
    """Every target of a run in one table: measured against target, met or missed."""
    table = Table(
        title="Targets (this run)",
        columns=["target", "measured", "goal", "result"],
    )
    for target in targets:
        table.rows.append([target.name, target.measured, target.target, target.verdict])
    tested = [target for target in targets if target.tested]
    met = sum(target.met for target in tested)
    table.notes.append(f"{met} of {len(tested)} targets tested by this run met")
    return table
