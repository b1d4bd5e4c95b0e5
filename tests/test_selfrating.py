"""Self-ratings without Telegram: the questionnaire file, occasions, the summary, the chart."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.font_manager import FontProperties, findfont, get_font
from PIL import Image

from bot.charts import ChartText, build_figure, render_png, selfrating_chart
from bot.clock import ManualClock
from bot.config import SUPPORTED_LOCALES, SettingsError, load_settings
from bot.domain import selfrating as domain
from bot.flows.selfrating import SelfRatingJob, summary_text
from bot.i18n import translator
from storage.db import Database
from storage.models import OutboxKind, SelfRatingStatus
from storage.uow import UnitOfWork
from tests.conftest import CountingRandomness
from tests.factories import deps, join, outbox, update_participant

INSTRUMENT = domain.load_instrument()


def texts_in(node: object, path: str = "") -> list[tuple[str, dict[str, str]]]:
    """Every {sv, ar, en} table in the file, with where it is."""
    found: list[tuple[str, dict[str, str]]] = []
    if isinstance(node, dict):
        if {"sv", "en"} & node.keys():
            found.append((path, node))
        else:
            for key, value in node.items():
                found += texts_in(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += texts_in(value, f"{path}[{index}]")
    return found


def test_the_questionnaire_file_is_complete_in_swedish_arabic_and_english() -> None:
    raw = tomllib.loads(domain.DEFAULT_INSTRUMENT.read_text("utf-8"))
    tables = texts_in(raw)
    # A name, an intro, five scale labels, a title and a question per theme.
    assert len(tables) == 2 + 5 + 2 * len(raw["themes"])
    for where, table in tables:
        for locale in SUPPORTED_LOCALES:
            assert table.get(locale, "").strip(), f"{where} has no {locale}"
    assert [point.value for point in INSTRUMENT.scale] == [1, 2, 3, 4, 5]
    assert len(INSTRUMENT.themes) == 6


def test_an_incomplete_questionnaire_is_refused_with_where_and_why(tmp_path: Path) -> None:
    broken = domain.DEFAULT_INSTRUMENT.read_text("utf-8").replace('ar = "الصحة", ', "", 1)
    path = tmp_path / "instrument.toml"
    path.write_text(broken, "utf-8")
    with pytest.raises(domain.InstrumentError, match=r"themes\.0\.title: missing text in ar"):
        domain.load_instrument(path)
    with pytest.raises(SettingsError, match=r"^STEGVIS_SELFRATING_FILE: .*missing text in ar"):
        load_settings(data_dir=tmp_path, selfrating_file=path)


def test_a_project_can_load_its_own_instrument(tmp_path: Path) -> None:
    own = """
id = "licensed-bip-9"
name = { sv = "BIP", ar = "BIP", en = "BIP" }
intro = { sv = "Nio frågor.", ar = "تسعة أسئلة.", en = "Nine questions." }
[[themes]]
key = "q1"
title = { sv = "Ett", ar = "واحد", en = "One" }
question = { sv = "Fråga?", ar = "سؤال؟", en = "Question?" }
""" + "\n".join(
        f'[[scale]]\nvalue = {n}\nface = "{n}"\nlabel = {{ sv = "{n}", ar = "{n}", en = "{n}" }}'
        for n in range(1, 6)
    )
    path = tmp_path / "own.toml"
    path.write_text(own, "utf-8")
    settings = load_settings(data_dir=tmp_path, selfrating_file=path)
    assert domain.load_instrument(settings.selfrating_file).id == "licensed-bip-9"


async def test_answers_are_kept_per_theme_so_a_stop_loses_nothing(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    sara = await join(database, clock, randomness, telegram_user_id=801)
    async with UnitOfWork(database) as uow:
        rating, resumed = await domain.start_or_resume(
            uow, sara.participant_id, INSTRUMENT, clock.now()
        )
        assert not resumed
        assert await domain.answer(uow, rating, INSTRUMENT, 0, 3, clock.now()) is None
        assert await domain.answer(uow, rating, INSTRUMENT, 1, 4, clock.now()) is None
        await uow.commit()
    async with UnitOfWork(database) as uow:  # another day, another process
        rating, resumed = await domain.start_or_resume(
            uow, sara.participant_id, INSTRUMENT, clock.now()
        )
        assert resumed
        answered = await domain.answers(uow, rating)
        assert answered == {"health": 3, "everyday": 4}
        assert domain.next_question(INSTRUMENT, answered) == 2
        # An old question's button, or a score off the scale, changes nothing.
        assert await domain.answer(uow, rating, INSTRUMENT, 0, 5, clock.now()) is not None
        assert await domain.answer(uow, rating, INSTRUMENT, 3, 5, clock.now()) is not None
        assert await domain.answer(uow, rating, INSTRUMENT, 2, 6, clock.now()) is not None
        for index in range(2, 6):
            assert await domain.answer(uow, rating, INSTRUMENT, index, 2, clock.now()) is None
        assert rating.status is SelfRatingStatus.COMPLETED and rating.completed_at == clock.now()
        await uow.commit()


async def test_the_summary_compares_each_theme_with_last_time_kindly(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    sara = await join(database, clock, randomness, telegram_user_id=802)
    for scores in ([2, 3, 1, 3, 2, 2], [3, 3, 2, 2, 2, 2]):
        async with UnitOfWork(database) as uow:
            rating, _ = await domain.start_or_resume(
                uow, sara.participant_id, INSTRUMENT, clock.now()
            )
            for index, score in enumerate(scores):
                await domain.answer(uow, rating, INSTRUMENT, index, score, clock.now())
            await uow.commit()
        clock.advance(timedelta(days=91))
    async with UnitOfWork(database) as uow:
        occasions = await domain.history(uow, sara.participant_id, INSTRUMENT)
    assert [o.scores["health"] for o in occasions] == [2, 3]
    changes = domain.compare(INSTRUMENT, occasions[-1], occasions[-2])
    swedish = summary_text(INSTRUMENT, translator("sv"), changes)
    assert "↑ Hälsa: 3 (förra gången 2)" in swedish
    assert "= Vardagen: 3 (förra gången 3)" in swedish
    assert "↓ Samarbete: 2 (förra gången 3)" in swedish
    assert "Du har gått framåt på 2 områden sedan förra gången. Bra jobbat!" in swedish
    assert "Du kan prata om det med din mentor." in swedish
    arabic = summary_text(INSTRUMENT, translator("ar"), changes)
    assert "هناك تقدّم في مجالين منذ المرة السابقة. عمل رائع!" in arabic


async def test_the_self_rating_is_offered_on_schedule_once(
    database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> None:
    from bot.flows.checkin import CheckinJob

    bot_deps = deps(database, clock, randomness, tmp_path)
    sara = await join(database, clock, randomness, telegram_user_id=803)
    paused = await join(database, clock, randomness, telegram_user_id=804)
    await CheckinJob()(bot_deps)  # schedules for both
    await update_participant(database, paused.participant_id, reminders_paused_at=clock.now())
    clock.set(datetime(2026, 1, 8, 9, 0, tzinfo=UTC))  # three days after joining, 10:00 local
    await SelfRatingJob()(bot_deps)
    await SelfRatingJob()(bot_deps)
    offers = [
        row
        for row in await outbox(database, OutboxKind.CHECKIN)
        if row.idempotency_key.startswith("selfrating-offer:")
    ]
    assert [row.participant_id for row in offers] == [sara.participant_id]
    assert "Dags för din självskattning: 6 korta frågor" in offers[0].payload["text"]
    clock.set(datetime(2026, 4, 5, 8, 0, tzinfo=UTC))  # three months after joining
    await SelfRatingJob()(bot_deps)
    offers = [
        row
        for row in await outbox(database, OutboxKind.CHECKIN)
        if row.idempotency_key.startswith("selfrating-offer:")
    ]
    assert len(offers) == 2 and offers[1].participant_id == sara.participant_id


def occasions(count: int) -> list[domain.Occasion]:
    start = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
    return [
        domain.Occasion(
            index,
            start + timedelta(days=91 * index),
            {
                theme.key: min(5, 1 + (index + position) % 5)
                for position, theme in enumerate(INSTRUMENT.themes)
            },
        )
        for index in range(count)
    ]


def test_the_chart_is_a_png_with_the_participants_words() -> None:
    png = selfrating_chart(
        INSTRUMENT, occasions(3), translator("sv"), "Dina självskattningar över tid"
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size[0] >= 600
    figure = build_figure(INSTRUMENT, occasions(3), translator("sv"), ChartText("T", "n"))
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_yticklabels()][:2] == ["Hälsa", "Vardagen"]
    assert [text.get_text() for text in figure.legends[0].get_texts()] == [
        "1 juli 2025",
        "30 sep. 2025",
        "30 dec. 2025",
    ]


def test_the_chart_reads_from_the_right_for_arabic_readers() -> None:
    t = translator("ar")
    figure = build_figure(INSTRUMENT, occasions(3), t, ChartText("تقييماتك الذاتية", "1 = 5"))
    (axes,) = figure.axes
    assert axes.xaxis_inverted()  # bars grow from the right
    assert axes.yaxis.get_ticks_position() == "right"  # theme names stand on the right
    assert axes.get_yticklabels()[0].get_text() == "الصحة"  # given as written, not reshaped
    legend = figure.legends[0]
    figure.canvas.draw()
    assert legend.get_window_extent().x1 > figure.bbox.width * 0.9  # the legend on the right
    names = [text.get_text() for text in legend.get_texts()]
    assert names[-1].startswith("1 ") and "2025" in names[-1]  # the oldest stands rightmost
    ltr = build_figure(INSTRUMENT, occasions(3), translator("sv"), ChartText("T", "n"))
    assert not ltr.axes[0].xaxis_inverted() and ltr.axes[0].yaxis.get_ticks_position() == "left"
    ltr.canvas.draw()
    assert ltr.legends[0].get_window_extent().x0 < ltr.bbox.width * 0.1
    assert render_png(figure).startswith(b"\x89PNG")


def test_matplotlib_shapes_arabic_itself_so_the_chart_passes_it_as_written() -> None:
    """If this fails, matplotlib no longer lays out Arabic and labels need reshaping."""
    from matplotlib._text_helpers import layout

    font = get_font(findfont(FontProperties(family="DejaVu Sans")))
    assert len(list(layout("لا", font))) == 1  # lam-alef became one glyph
    assert next(item.char for item in layout("سلام", font)) == "م"  # laid out right to left
