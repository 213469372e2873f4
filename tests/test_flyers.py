"""Flyers (issue 16): one per language, whose QR codes decode back to the series' invite
links, with Arabic drawn right to left in joined letter forms; `meedoen flyer` and
`meedoen invite` on the command line."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from bot.analytics import flyer as drawing
from bot.app.cli import main
from bot.domain import flyers, invites
from dialogs.i18n import _, use_locale
from dialogs.types import LANGUAGES
from tests.test_invites import SOURCE, add_series

FIRST = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
SERIES = SimpleNamespace(
    id=3, name="Mannen in gesprek", start_time="19:00", weekday=3, location="Huis van de Wijk Osdorp",
    meeting_count=6, place_private=0,
)


@pytest.fixture
def config(settings):
    return dataclasses.replace(settings, twilio_whatsapp_from="whatsapp:+31201234567", flyer_free=True)


def decoded(png: bytes) -> set[str]:
    image = Image.open(io.BytesIO(png))
    return {result.text for result in zxingcpp.read_barcodes(image)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_flyer_png_decodes_back_to_the_invite_links(config, language):
    content = flyers.contents(config, SERIES, FIRST, "meedoen_bot", SOURCE, language)
    png = drawing.png(content)
    assert Image.open(io.BytesIO(png)).size == (1080, 1350)
    links = invites.links(config, "meedoen_bot", SERIES.id, SOURCE, language)
    assert decoded(png) == {links.telegram, links.whatsapp}
    assert invites.read(config.secret_key.encode(), links.telegram) == invites.Invite(SERIES.id, SOURCE)


def test_the_flyer_texts_are_in_its_language_with_babel_dates(config):
    somali = flyers.contents(config, SERIES, FIRST, "meedoen_bot", "", "so")
    arabic = flyers.contents(config, SERIES, FIRST, "meedoen_bot", "", "ar")
    assert "Khamiis" in somali.when and "Diseembar" in somali.when and "2026" in somali.when
    assert "الخميس" in arabic.when and "ديسمبر" in arabic.when and arabic.rtl
    with use_locale("so"):
        assert somali.free.endswith(_("Free, with coffee and tea"))
    assert flyers.contents(dataclasses.replace(config, flyer_free=False), SERIES, FIRST, None, "", "nl").free == ""


def _ink(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> np.ndarray:
    """The pixels near ``colour`` inside ``box``, cropped to their bounding box."""
    pixels = np.asarray(image.crop(box).convert("RGB")).astype(int)
    mask = (np.abs(pixels - colour).sum(axis=2) < 200)
    ys, xs = np.nonzero(mask)
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _reference(text: str, size: int) -> np.ndarray:
    """``text`` drawn glyph by glyph, without any shaping (Pillow's basic layout)."""
    face = ImageFont.truetype(drawing._font_path(True), size, layout_engine=ImageFont.Layout.BASIC)
    image = Image.new("RGB", (size * len(text) * 2, size * 2), "black")
    ImageDraw.Draw(image).text((size // 2, size // 2), text, font=face, fill="white")
    return _ink(image, (0, 0, *image.size), (255, 255, 255))


def _alike(a: np.ndarray, b: np.ndarray) -> bool:
    """The same glyphs: sizes within 2 pixels (sub-pixel placement), and at most 5% of the
    pixels of the common area different."""
    if abs(a.shape[0] - b.shape[0]) > 2 or abs(a.shape[1] - b.shape[1]) > 2:
        return False
    height, width = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return (a[:height, :width] != b[:height, :width]).mean() < 0.05


@pytest.mark.parametrize(
    "logical, joined",
    [
        # shin initial, kaf medial, reh final, alef isolated: shown right to left
        ("شكرا", "\ufe8d\ufeae\ufedc\ufeb7"),
        # seen initial, then lam and alef as their ligature (final), meem isolated
        ("سلام", "\ufee1\ufefc\ufeb3"),
    ],
)
def test_arabic_on_the_flyer_is_shaped_and_right_to_left(config, logical, joined):
    """The Arabic title as drawn on the flyer equals its letters' joined presentation forms
    in visual order, and differs from the same letters drawn unjoined."""
    content = dataclasses.replace(
        flyers.contents(config, SERIES, FIRST, "meedoen_bot", "", "ar"), title=logical, organisation=""
    )
    image = drawing.render(content)
    band = round(1080 * 0.25)
    drawn = _ink(image, (0, 0, 1080, band), (255, 255, 255))
    size = round(1080 * 0.068)
    assert _alike(drawn, _reference(joined, size))
    assert not _alike(drawn, _reference(logical[::-1], size))  # the letters unjoined, in visual order
    # right-aligned: the title ends at the right margin
    columns = np.nonzero(
        (np.abs(np.asarray(image.crop((0, 0, 1080, band))).astype(int) - 255).sum(axis=2) < 200).any(axis=0)
    )[0]
    assert columns.max() > 1080 - round(1080 * 0.08) - 10


def test_the_pdf_is_one_a5_page(config):
    pdf = drawing.pdf(flyers.contents(config, SERIES, FIRST, "meedoen_bot", "", "ar"))
    assert pdf.startswith(b"%PDF")
    box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    width, height = float(box[1]), float(box[2])
    assert abs(width - 148 / 25.4 * 72) < 1 and abs(height - 210 / 25.4 * 72) < 1


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch, tmp_path, database_url):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("MEEDOEN_DATABASE_URL", database_url)
    monkeypatch.setenv("MEEDOEN_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+31201234567")


async def test_meedoen_flyer_writes_one_flyer_per_language(environment, db, tmp_path, capsys):
    series_id = await add_series(db, "Mannen in gesprek")
    out = tmp_path / "flyers"
    status = await _cli(["flyer", "--series", str(series_id), "--lang", "nl,ar", "--source", SOURCE, "--format", "png", "--out", str(out)])
    assert status == 0
    written = sorted(path.name for path in out.iterdir())
    assert written == [f"flyer-{series_id}-{SOURCE}-ar.png", f"flyer-{series_id}-{SOURCE}-nl.png"]
    texts = decoded((out / written[0]).read_bytes())
    assert len(texts) == 1 and texts.pop().startswith("https://wa.me/31201234567?text=")  # no Telegram set up
    assert await _cli(["flyer", "--series", str(series_id), "--lang", "so", "--format", "pdf", "--out", str(out)]) == 0
    assert (out / f"flyer-{series_id}-so.pdf").read_bytes().startswith(b"%PDF")
    assert await _cli(["flyer", "--series", "99", "--out", str(out)]) == 2
    assert "no series 99" in capsys.readouterr().err


async def test_meedoen_flyer_refuses_a_flyer_without_any_link(environment, db, tmp_path, monkeypatch, capsys):
    """No WhatsApp and no Telegram name known yet: a flyer would have no QR code at all."""
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"):
        monkeypatch.delenv(name)
    series_id = await add_series(db, "Mannen in gesprek")
    out = tmp_path / "flyers"
    assert await _cli(["flyer", "--series", str(series_id), "--out", str(out)]) == 2
    assert "no invite link to put on the flyer yet" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


async def test_meedoen_invite_prints_links_and_counts(environment, db, capsys):
    series_id = await add_series(db, "Mannen in gesprek")
    assert await _cli(["invite", "--series", str(series_id), "--source", SOURCE, "--lang", "so"]) == 0
    printed = capsys.readouterr().out
    code = invites.code(b"test-secret-key-0123456789", series_id, SOURCE)
    assert "WhatsApp (so): https://wa.me/31201234567?text=" in printed and code in printed
    async with db.transaction() as connection:
        await invites.count_signup(connection, b"k" * 20, "telegram", "1", invites.Invite(series_id, SOURCE))
    assert await _cli(["invite", "--series", str(series_id), "--counts"]) == 0
    assert re.search(rf"{SOURCE}\s+1 signed up,\s+0 came", capsys.readouterr().out)
    assert await _cli(["invite", "--series", str(series_id), "--source", "Not OK"]) == 2
    assert "letters, digits and hyphens" in capsys.readouterr().err


async def _cli(argv: list[str]) -> int:
    """``main`` runs its own event loop: in a thread, out of the test's."""
    import asyncio

    return await asyncio.to_thread(main, argv)


async def test_a_coordinator_sends_himself_the_flyers_with_flyer(settings, db):
    """/flyer, a series chosen by button: one photo per language arrives in his chat, each
    with the series' Telegram invite link in its QR code."""
    from tests.fakes.telegram_api import FakeTelegram
    from tests.telegram_chat import Chat, running, telegram_settings

    series_id = await add_series(db, "Mannen in gesprek")
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9101",))
        async with running(configured):
            boss = Chat(tg, 9101, language_code="nl")
            await boss.command("/flyer")
            assert boss.keys() == [f"co:f:{series_id}"]
            await boss.tap(f"co:f:{series_id}")
            await tg.wait_for(lambda: len([c for c in tg.calls if c.method == "sendPhoto"]) == len(LANGUAGES), timeout=30)
        assert tg.violations == []
    photos = [call.params for call in tg.calls if call.method == "sendPhoto"]
    link = f"https://t.me/meedoen_test_bot?start={invites.code(settings.secret_key.encode(), series_id)}"
    assert [decoded(photo["photo"].data) for photo in photos] == [{link}] * len(LANGUAGES)
    assert [photo["caption"] for photo in photos] == [
        f"Mannen in gesprek ({name})" for name in ("Nederlands", "العربية", "Soomaali", "English")
    ]
