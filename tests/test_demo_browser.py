"""The demo page in a real browser: Debian's chromium driven by Playwright for Python (no
browser download), against ``meedoen demo`` started as a real subprocess on a free port with
its own temporary database. Men sign up in Somali and in Arabic, the coordinator broadcasts,
takes attendance and reads the report; the page fits a 390 px phone, lays the 0–10 question
out in rows, keeps its chats over a reload and logs no error. Screenshots go to
``test-artifacts/`` (git-ignored): look at them.

Without chromium these tests are skipped: ``apt-get install chromium`` enables them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    if os.environ.get("CI"):  # in CI these must run: .ci/run installs chromium
        pytest.fail("CI has no /usr/bin/chromium: .ci/run should have installed it", pytrace=False)
    pytest.skip("browser tests need Debian's chromium: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from bot.app.demo import PAST_SERIES  # noqa: E402
from dialogs.i18n import FSI, PDI, _, fill, use_locale  # noqa: E402
from tests.telegram_chat import free_port  # noqa: E402
from tests.voice_samples import wav  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-dev-shm-usage"]
STORE_KEY = "meedoen-demo-chats"
WAIT_MS = 30_000  # a loaded CI machine: generous, the tests wait for events, never for time


def tr(language: str, message: str) -> str:
    with use_locale(language):
        return _(message)


def fill_in(language: str, message: str, **values) -> str:
    with use_locale(language):
        return fill(_(message), **values)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``meedoen demo`` in a subprocess; its base URL."""
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    command = [
        sys.executable, "-c", "import sys; from bot.app.cli import main; sys.exit(main(sys.argv[1:]))",
        "demo", "--port", str(port), "--database", f"sqlite+aiosqlite:///{folder / 'demo.db'}",
    ]
    log = (folder / "demo.log").open("w")
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (folder / "demo.log").read_text()
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "meedoen demo did not start"
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield chromium
        chromium.close()


class Problems(list):
    """Console errors, page errors and failed requests seen by a page."""


def open_page(browser, base: str, participants: list[str], width: int = 1280, height: int = 900) -> tuple[Page, Problems]:
    """A fresh browser profile whose page starts with the participant chats ``participants``
    (so tests sharing one demo server do not share chats); a reload keeps what it stored."""
    context = browser.new_context(viewport={"width": width, "height": height})
    seed = json.dumps({"participants": participants, "active": participants[0]})
    context.add_init_script(
        f"if (!localStorage.getItem({json.dumps(STORE_KEY)})) localStorage.setItem({json.dumps(STORE_KEY)}, {json.dumps(seed)});"
    )
    page = context.new_page()
    problems = Problems()
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    page.goto(base + "/demo")
    return page, problems


def log_of(page: Page, user: str):
    return page.locator(f'.log[data-user="{user}"]')


def send(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def wait_for(page: Page, user: str, text: str):
    """The newest bot message of ``user`` that contains ``text``, once it is there."""
    message = log_of(page, user).locator(".msg.bot").filter(has_text=text).last
    expect(message).to_be_visible(timeout=WAIT_MS)
    return message


def button(page: Page, user: str, key: str):
    """The button ``key`` of the newest message that has it."""
    return log_of(page, user).locator(f'button.option[data-key="{key}"]').last


def tap(page: Page, user: str, key: str) -> None:
    button(page, user, key).click()


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path


def sign_up(page: Page, user: str, language: str, first: str, name: str) -> None:
    page.locator(f'.chat-item[data-user="{user}"]').click()
    send(page, first)
    wait_for(page, user, tr(language, "Which language would you like me to use?"))
    first_button = log_of(page, user).locator("button.option").first
    expect(first_button).to_have_attribute("data-key", f"lang:{language}")  # his language first
    tap(page, user, f"lang:{language}")
    expect(button(page, user, "yes")).to_have_text(tr(language, "Yes, that's okay"), timeout=WAIT_MS)
    tap(page, user, "yes")
    wait_for(page, user, tr(language, "What may we call you? Write a first name or a nickname, or press Skip."))
    send(page, name)
    wait_for(page, user, tr(language, "These conversation groups are open. Which one would you like to join?"))
    log_of(page, user).locator("button.option").filter(has_text="Mannen in gesprek").last.click()
    wait_for(page, user, tr(language, "In which area do you live? This helps us plan meetings close to home."))
    tap(page, user, "a:1")
    wait_for(page, user, tr(language, "What would you like to do?"))


def test_men_sign_up_in_somali_and_arabic_and_the_coordinator_broadcasts_and_reads_the_report(demo, browser):
    page, problems = open_page(browser, demo, ["p1"])
    sign_up(page, "p1", "so", "Salaan, waxaan rabaa inaan ka qayb qaato", "Cabdi")
    page.click("#new-participant")
    sign_up(page, "p2", "ar", "السلام عليكم، أريد التسجيل", "يوسف")
    arabic = log_of(page, "p2").locator(".msg.bot .text").last
    assert arabic.evaluate("node => node.matches(':dir(rtl)')")
    expect(page.locator(".card").filter(has_text="Mannen in gesprek")).to_contain_text("يوسف", timeout=WAIT_MS)
    shoot(page, "demo-arabic-signup.png")

    page.locator('.chat-item[data-user="coordinator"]').click()
    send(page, "/broadcast Kom donderdag naar Mannen in gesprek!")
    wait_for(page, "coordinator", tr("nl", "Who should get this message?"))
    tap(page, "coordinator", "co:a:all")
    tap(page, "coordinator", "co:next")
    wait_for(page, "coordinator", "spreek de tekst in het Nederlands in")  # a voice message for Dutch?
    tap(page, "coordinator", "co:novoice")
    wait_for(page, "coordinator", "Schrijf nu hetzelfde bericht in het Arabisch")  # not "in het العربية"
    send(page, "تعالوا يوم الخميس إلى لقاء الرجال!")
    wait_for(page, "coordinator", "spreek de tekst in het Arabisch in")
    # the 🎙 button: a sound file chosen in the page is the Arabic version's voice message
    page.set_input_files("#voice-file", files=[{"name": "uitnodiging.wav", "mimeType": "audio/wav", "buffer": wav(2)}])
    wait_for(page, "coordinator", "Somalisch")
    tap(page, "coordinator", "co:skip")
    wait_for(page, "coordinator", "Engels")
    tap(page, "coordinator", "co:skip")
    wait_for(page, "coordinator", tr("nl", "Add a “Sign me up” button for a conversation group?"))
    tap(page, "coordinator", "co:i:-")
    preview = wait_for(page, "coordinator", "Kom donderdag naar Mannen in gesprek!")
    assert f"[{FSI}العربية{PDI}]" in preview.text_content()
    assert "🎙" in preview.text_content()
    shoot(page, "demo-broadcast-preview.png")
    tap(page, "coordinator", "co:send")
    wait_for(page, "coordinator", tr("nl", "Sending now. I will tell you here how it goes."))

    page.locator('.chat-item[data-user="p2"]').click()
    wait_for(page, "p2", "تعالوا يوم الخميس")
    voice = log_of(page, "p2").locator("audio")  # his chat plays the coordinator's voice
    expect(voice).to_have_count(1, timeout=WAIT_MS)
    assert voice.evaluate("a => fetch(a.src).then(r => r.status + ' ' + r.headers.get('content-type'))") == "200 audio/ogg"
    page.locator('.chat-item[data-user="p1"]').click()
    wait_for(page, "p1", "Kom donderdag naar Mannen in gesprek!")  # no Somali text: the Dutch one

    page.locator('.chat-item[data-user="coordinator"]').click()
    send(page, "/attendance")
    wait_for(page, "coordinator", tr("nl", "Which meeting do you want to take attendance for?"))
    log_of(page, "coordinator").locator("button.option").filter(has_text=PAST_SERIES).last.click()
    wait_for(page, "coordinator", tr("nl", "Tap each man who was there. Tap again to undo. Press Done when ready."))
    log_of(page, "coordinator").locator("button.option").filter(has_text="Ahmed").last.click()
    expect(log_of(page, "coordinator").locator("button.option").filter(has_text="✅ Ahmed")).to_have_count(1, timeout=WAIT_MS)
    tap(page, "coordinator", "co:done")
    wait_for(page, "coordinator", tr("nl", "Thank you, attendance is saved."))

    send(page, "/report")
    image = log_of(page, "coordinator").locator(".msg.bot img").last
    expect(image).to_be_visible(timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 600", arg=image.element_handle(), timeout=WAIT_MS)
    image.scroll_into_view_if_needed()
    shoot(page, "demo-report.png")
    assert problems == []


def test_a_phone_sized_page_shows_the_coordinator_chat_and_the_0_to_10_question_in_rows(demo, browser):
    page, problems = open_page(browser, demo, ["p21"], width=390, height=844)
    coordinator = page.locator('.chat-item[data-user="coordinator"]')
    expect(coordinator).to_be_visible()
    box = coordinator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # in sight, not behind a scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("(() => { const n = document.querySelector('.chats'); return n.scrollWidth <= n.clientWidth; })()")

    sign_up(page, "p21", "nl", "Hallo, ik wil graag meedoen", "Jan")
    send(page, "/checkin")
    for number in range(1, 8):  # skip to the 0–10 question
        wait_for(page, "p21", fill_in("nl", "Question %(number)s of %(total)s", number=number, total=8))
        tap(page, "p21", "skip")
    question = wait_for(page, "p21", tr("nl", "0 means not at all, 10 means completely."))
    rows = question.locator("xpath=..").locator(".options .scale")
    expect(rows).to_have_count(2)
    assert rows.nth(0).locator("button").all_text_contents() == ["0", "1", "2", "3", "4", "5"]
    assert rows.nth(1).locator("button").all_text_contents() == ["6", "7", "8", "9", "10"]
    tops = {round(b.bounding_box()["y"]) for b in rows.nth(0).locator("button").all()}
    assert len(tops) == 1  # one row, side by side
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    question.scroll_into_view_if_needed()
    shoot(page, "demo-390px-scale.png")
    tap(page, "p21", "w:7")
    wait_for(page, "p21", tr("nl", "Thank you for your answers! They help us make the meetings better."))
    coordinator.click()
    expect(page.locator("#chat-title")).to_have_text("Coordinator")
    shoot(page, "demo-390px-coordinator.png")
    assert problems == []


def test_a_reload_keeps_the_chats_opened_and_their_messages(demo, browser):
    page, problems = open_page(browser, demo, ["p31"])
    page.click("#new-participant")
    page.click("#new-participant")
    third = page.locator(".chat-item[aria-current=true]").get_attribute("data-user")
    send(page, "Hello, I would like to join")
    wait_for(page, third, tr("en", "Which language would you like me to use?"))

    page.reload()
    users = page.locator(".chat-item").evaluate_all("items => items.map(i => i.dataset.user)")
    assert users == ["p31", "p32", "p33", "coordinator"] and third == "p33"
    expect(page.locator(".chat-item[aria-current=true]")).to_have_attribute("data-user", third)
    wait_for(page, third, tr("en", "Which language would you like me to use?"))
    expect(log_of(page, third).locator(".msg.me")).to_have_text(["Hello, I would like to join"])
    send(page, "Hello again")
    wait_for(page, third, tr("en", "Please choose one of the buttons."))
    expect(log_of(page, third).locator(".msg.me")).to_have_count(2)  # his own words, not doubled
    assert problems == []


def test_a_series_card_opens_its_invite_link_shows_its_flyers_and_counts_the_source(demo, browser):
    page, problems = open_page(browser, demo, ["p40"])  # the new participant: p41, his own chat
    card = page.locator(".card").filter(has_text="Vaders en zonen")  # listed second
    expect(card.locator(".invite-link")).to_contain_text("https://t.me/meedoen_demo_bot?start=", timeout=WAIT_MS)
    flyers = card.locator(".flyers img")
    expect(flyers).to_have_count(4)
    for n in range(4):
        flyers.nth(n).scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth === 1080 && img.naturalHeight === 1350",
            arg=flyers.nth(n).element_handle(), timeout=WAIT_MS,
        )
    card.locator(".open-invite").click()  # a new participant, who sends /start CODE
    wait_for(page, "p41", tr("nl", "Which language would you like me to use?"))
    assert "Vaders en zonen" in log_of(page, "p41").locator(".msg.bot").last.text_content()
    tap(page, "p41", "lang:nl")
    tap(page, "p41", "yes")
    wait_for(page, "p41", tr("nl", "What may we call you? Write a first name or a nickname, or press Skip."))
    tap(page, "p41", "skip")
    wait_for(page, "p41", tr("nl", "These conversation groups are open. Which one would you like to join?"))
    first = log_of(page, "p41").locator('button.option[data-key^="s:"]').first
    expect(first).to_have_text("Vaders en zonen")  # the invited series first
    first.click()
    wait_for(page, "p41", tr("nl", "In which area do you live? This helps us plan meetings close to home."))
    tap(page, "p41", "a:1")
    expect(card).to_contain_text("demo-page 1 signed up, 0 came", timeout=WAIT_MS)
    shoot(page, "demo-invite-link.png")
    assert problems == []
