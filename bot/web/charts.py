"""Charts as inline SVG drawn on the server: no script, no chart library, print-friendly.

Only the geometry is computed here; the templates (`charts.html`) draw it, each chart
with a title for screen readers and the numbers in a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as text, formatted for the reader's language
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    baseline: float
    top: float  # the largest value the axis shows

    @property
    def empty(self) -> bool:
        return all(bar.value == 0 for bar in self.bars)


def nice_top(value: float) -> float:
    """A round number at or above `value` for the top of the axis: 1, 2, 5, 10, 20, ..."""
    if value <= 0:
        return 1
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def columns(
    values: list[tuple[str, float, str]],
    *,
    width: int = 640,
    height: int = 180,
    top: float | None = None,
    label_space: int = 28,
    value_space: int = 16,
) -> BarChart:
    """Vertical bars, one per (label, value, shown)."""
    axis_top = top if top is not None else nice_top(max((v for _l, v, _s in values), default=0))
    plot = height - label_space - value_space
    slot = width / max(1, len(values))
    bar_width = slot * 0.7
    bars = []
    for index, (label, value, shown) in enumerate(values):
        bar_height = plot * (value / axis_top) if axis_top else 0
        bars.append(
            Bar(
                label=label,
                value=value,
                shown=shown,
                x=round(index * slot + (slot - bar_width) / 2, 1),
                y=round(value_space + plot - bar_height, 1),
                width=round(bar_width, 1),
                height=round(bar_height, 1),
            )
        )
    return BarChart(
        bars=bars, width=width, height=height, baseline=value_space + plot, top=axis_top
    )


def rows(
    values: list[tuple[str, float, str]],
    *,
    width: int = 420,
    row_height: int = 26,
    label_width: int = 130,
    value_width: int = 40,
    top: float | None = None,
) -> BarChart:
    """Horizontal bars, one row per (label, value, shown): for named categories."""
    axis_top = top if top is not None else nice_top(max((v for _l, v, _s in values), default=0))
    plot = width - label_width - value_width
    bars = [
        Bar(
            label=label,
            value=value,
            shown=shown,
            x=label_width,
            y=index * row_height + 4,
            width=round(plot * (value / axis_top), 1) if axis_top else 0,
            height=row_height - 8,
        )
        for index, (label, value, shown) in enumerate(values)
    ]
    return BarChart(
        bars=bars, width=width, height=len(values) * row_height, baseline=0, top=axis_top
    )
