"""The self-rating chart: each theme's score at each occasion, as a PNG for Telegram.

Drawn with matplotlib's object API (no pyplot state, so it can render in a worker
thread) on the Agg backend with DejaVu Sans, which has Arabic glyphs. Since 3.11
matplotlib shapes and orders text itself (libraqm), so Arabic is passed as written: no
reshaping beforehand, which would reverse it twice. For right-to-left readers the chart
is mirrored: bars grow from the right, theme names stand on the right, the legend sits
on the right and reads from the right, oldest first.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_skeleton
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.domain.selfrating import Instrument, Occasion
from bot.i18n import Translator

FONT = "DejaVu Sans"
SHOWN_OCCASIONS = 4
# Light to dark: the newest occasion is the darkest bar (readable in grey, too).
COLOURS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
DPI = 120
LABEL_WIDTH = 22  # characters per line of a theme name beside the bars


@dataclass(frozen=True)
class ChartText:
    """What the chart says, already translated."""

    title: str
    scale_note: str


def occasion_label(moment: datetime | None, t: Translator) -> str:
    if moment is None:
        return "–"
    local = moment.astimezone(t.zone)
    return str(format_skeleton("yMMMd", local, locale=t.format_locale))


def build_figure(
    instrument: Instrument, occasions: Sequence[Occasion], t: Translator, text: ChartText
) -> Figure:
    """The chart as a matplotlib Figure (tests look at its layout; `render_png` saves it)."""
    shown = list(occasions)[-SHOWN_OCCASIONS:]
    themes = instrument.themes
    rtl = t.rtl
    height = 1.9 + 0.75 * len(themes) + 0.12 * len(themes) * max(len(shown) - 1, 0)
    figure = Figure(figsize=(7.0, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.06, 0.1, 0.62, 0.72) if rtl else (0.32, 0.1, 0.62, 0.72))
    group = 0.8
    bar = group / max(len(shown), 1)
    colours = COLOURS[-len(shown) :] if shown else COLOURS[-1:]
    for index, occasion in enumerate(shown):
        offsets = [row - group / 2 + bar * (index + 0.5) for row in range(len(themes))]
        values = [occasion.scores.get(theme.key, 0) for theme in themes]
        bars = axes.barh(
            offsets,
            values,
            height=bar * 0.9,
            color=colours[index],
            label=occasion_label(occasion.completed_at, t),
            edgecolor="white",
        )
        if index == len(shown) - 1:
            for rectangle, value in zip(bars, values, strict=True):
                if value:
                    axes.text(
                        value + 0.08,
                        rectangle.get_y() + rectangle.get_height() / 2,
                        str(value),
                        va="center",
                        ha="right" if rtl else "left",
                        fontsize=10,
                        fontfamily=FONT,
                        fontweight="bold",
                        parse_math=False,
                    )
    axes.set_xlim(0, 5.6)
    axes.set_xticks([1, 2, 3, 4, 5])
    axes.set_xticklabels(["1", "2", "3", "4", "5"], fontfamily=FONT)
    axes.set_yticks(range(len(themes)))
    labels = axes.set_yticklabels(
        [textwrap.fill(instrument.text(theme.title, t.locale), LABEL_WIDTH) for theme in themes],
        fontfamily=FONT,
        fontsize=11,
    )
    for label in labels:
        label.set_parse_math(False)
    axes.set_ylim(len(themes) - 0.5, -0.5)  # the first theme on top
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "left", "right"):
        axes.spines[side].set_visible(False)
    if rtl:
        axes.invert_xaxis()
        axes.yaxis.tick_right()
        axes.spines["right"].set_visible(True)
        axes.spines["left"].set_visible(False)
    else:
        axes.spines["left"].set_visible(True)
    axes.tick_params(axis="y", length=0)
    figure.text(
        0.95 if rtl else 0.05,
        0.96,
        text.title,
        ha="right" if rtl else "left",
        va="top",
        fontsize=15,
        fontweight="bold",
        fontfamily=FONT,
        parse_math=False,
    )
    figure.text(
        0.95 if rtl else 0.05,
        0.025,
        text.scale_note,
        ha="right" if rtl else "left",
        va="bottom",
        fontsize=9,
        color="#444444",
        fontfamily=FONT,
        parse_math=False,
    )
    if shown:
        handles, names = axes.get_legend_handles_labels()
        if rtl:  # read from the right: the oldest occasion stands rightmost
            handles, names = handles[::-1], names[::-1]
        legend = figure.legend(
            handles,
            names,
            loc="upper right" if rtl else "upper left",
            bbox_to_anchor=(0.95, 0.9) if rtl else (0.05, 0.9),
            ncol=len(shown),
            frameon=False,
            markerfirst=not rtl,
            prop={"family": FONT, "size": 9},
            handlelength=1.2,
            columnspacing=1.2,
        )
        for entry in legend.get_texts():
            entry.set_parse_math(False)
    return figure


def render_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def selfrating_chart(
    instrument: Instrument, occasions: Sequence[Occasion], t: Translator, title: str
) -> bytes:
    """The PNG a participant (or their mentor) gets, labelled in the reader's language."""
    lowest, highest = instrument.scale[0], instrument.scale[-1]
    text = ChartText(
        title=title,
        scale_note=t("1 = {lowest}   5 = {highest}").format(
            lowest=instrument.text(lowest.label, t.locale),
            highest=instrument.text(highest.label, t.locale),
        ),
    )
    return render_png(build_figure(instrument, occasions, t, text))
