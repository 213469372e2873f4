"""The web console in a real browser (issue 15, first part): Debian's chromium driven by
Playwright against ``meedoen demo`` in a subprocess. The coordinator asks for the console in
the demo chat and logs in through the link he gets, creates a series, a man signs up for it
in the chat and appears on the series page, and attendance is ticked for a past meeting. Each
page passes axe-core (from node_modules, injected by the test) without a serious or critical
violation; the overview fits a 390 px phone. Screenshots go to ``test-artifacts/``.

Without chromium these tests are skipped: ``apt-get install chromium`` enables them.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.app.demo import PAST_SERIES
from tests.test_demo_browser import (  # skips this module too when there is no chromium
    WAIT_MS,
    browser,  # noqa: F401 - fixture
    demo,  # noqa: F401 - fixture
    log_of,
    open_page,
    send,
    shoot,
    tap,
    tr,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
README_SHOT = ROOT / "docs" / "console.png"
"""The README's picture of the console, refreshed by a run with MEEDOEN_README_SHOT=1 (a plain
run leaves the repository alone and writes test-artifacts/console-readme.png only)."""
LINK = re.compile(r"http://127\.0\.0\.1:\d+/console/login/[A-Za-z0-9_-]+")


def axe_problems(page: Page) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make node_modules/.installed)")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def readme_shot(page: Page) -> Path:
    """The page as a small PNG (64 colours: the README's picture stays well under 150 KB)."""
    from PIL import Image

    path = shoot(page, "console-readme.png")
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)
    if os.environ.get("MEEDOEN_README_SHOT") == "1":
        small.save(README_SHOT, optimize=True)
    return path


def console_link(page: Page) -> str:
    page.locator('.chat-item[data-user="coordinator"]').click()
    links = log_of(page, "coordinator").locator(".msg.bot").filter(has_text="/console/login/")
    expect(page.locator("#conn")).to_have_text("connected", timeout=WAIT_MS)  # its history (earlier links) is in
    before = links.count()
    send(page, "/console")
    expect(links).to_have_count(before + 1, timeout=WAIT_MS)
    message = links.last
    assert message.text_content().startswith(
        tr("nl", "Here is your link to the web console. It works once, for %(minutes)s minutes:").replace("%(minutes)s", "10")
    )
    return LINK.search(message.text_content()).group(0)


def sign_up_for(page: Page, user: str, series_name: str, name: str) -> None:
    page.locator(f'.chat-item[data-user="{user}"]').click()
    send(page, "Hallo, ik wil graag meedoen")
    wait_for(page, user, tr("nl", "Which language would you like me to use?"))
    tap(page, user, "lang:nl")
    wait_for(page, user, tr("nl", "Do you agree?").split()[0])
    tap(page, user, "yes")
    wait_for(page, user, tr("nl", "What may we call you? Write a first name or a nickname, or press Skip."))
    send(page, name)
    wait_for(page, user, tr("nl", "These conversation groups are open. Which one would you like to join?"))
    log_of(page, user).locator("button.option").filter(has_text=series_name).last.click()
    wait_for(page, user, tr("nl", "In which area do you live? This helps us plan meetings close to home."))
    tap(page, user, "a:1")
    wait_for(page, user, tr("nl", "What would you like to do?"))


def test_log_in_through_the_chat_create_a_series_see_a_sign_up_and_take_attendance(demo, browser):  # noqa: F811
    chat, problems = open_page(browser, demo, ["p1"])
    link = console_link(chat)
    console = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    console.goto(link)
    shoot(console, "console-login.png")
    assert axe_problems(console) == []
    console.get_by_role("button", name=tr("nl", "Log in")).click()
    expect(console.get_by_role("heading", name=tr("nl", "Overview"))).to_be_visible(timeout=WAIT_MS)
    expect(console.locator(".card").filter(has_text=PAST_SERIES)).to_be_visible()
    shoot(console, "console-overview.png")
    assert readme_shot(console).stat().st_size < 150_000
    assert axe_problems(console) == []
    # the link is spent: opening it again and pressing the button is refused
    again = browser.new_page()
    again.goto(link)
    with again.expect_response(lambda r: r.url.endswith("/console/login") and r.request.method == "POST") as info:
        again.get_by_role("button", name=tr("nl", "Log in")).click()
    response = info.value
    assert response.status == 403
    again.close()

    # a new series, with the rules of `meedoen series add`
    console.get_by_role("link", name=tr("nl", "New group")).first.click()
    console.fill("#name", "Vaders in gesprek")
    start = date.today() + timedelta(days=3)
    console.select_option("#weekday", str(start.weekday()))
    console.fill("#time", "19:30")
    console.fill("#start", (date.today() - timedelta(days=30)).isoformat())  # in the past: refused first
    console.fill("#meetings", "4")
    console.fill("#capacity", "10")
    console.select_option("#area", index=2)
    console.get_by_role("button", name=tr("nl", "Create group")).click()
    expect(console.locator("#error")).to_contain_text(tr("nl", "First date"), timeout=WAIT_MS)
    shoot(console, "console-series-refused.png")
    assert axe_problems(console) == []
    console.fill("#start", start.isoformat())
    console.get_by_role("button", name=tr("nl", "Create group")).click()
    expect(console.get_by_role("heading", name="Vaders in gesprek")).to_be_visible(timeout=WAIT_MS)
    series_url = console.url

    # a man signs up in the chat and appears on the series page
    sign_up_for(chat, "p1", "Vaders in gesprek", "Karim")
    console.goto(series_url)
    expect(console.locator("table").first).to_contain_text("Karim", timeout=WAIT_MS)
    expect(console.locator("table").first).to_contain_text("Nederlands")
    shoot(console, "console-series.png")
    assert axe_problems(console) == []

    # attendance for the seeded series' last meeting
    console.get_by_role("link", name=tr("nl", "Overview")).click()
    console.locator(".card").filter(has_text=PAST_SERIES).get_by_role("link").click()
    console.get_by_role("link", name=tr("nl", "Attendance")).last.click()
    ahmed = console.get_by_role("checkbox", name="Ahmed")
    ahmed.check()
    console.get_by_role("button", name=tr("nl", "Save attendance")).click()
    expect(console.get_by_role("status")).to_have_text(tr("nl", "Attendance is saved."), timeout=WAIT_MS)
    expect(console.get_by_role("checkbox", name="Ahmed")).to_be_checked()
    shoot(console, "console-attendance.png")
    assert axe_problems(console) == []

    # the anonymous report of the demo's check-ins, its filter, the chart and the CSV
    console.get_by_role("link", name=tr("nl", "Report")).click()
    expect(console.get_by_role("heading", name=tr("nl", "Report"))).to_be_visible(timeout=WAIT_MS)
    by_month = console.get_by_role("table", name=tr("nl", "Check-ins by month (all areas)"))
    expect(by_month).to_be_visible()
    chart = console.locator("img.chart")
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")
    shoot(console, "console-report.png")
    assert axe_problems(console) == []
    month = console.locator("#month option").nth(1).get_attribute("value")
    console.select_option("#month", month)
    console.get_by_role("button", name=tr("nl", "Show")).click()
    expect(by_month.locator("tbody tr")).to_have_count(1, timeout=WAIT_MS)
    expect(by_month.locator("tbody th")).to_have_text(month)
    with console.expect_download() as download:
        console.get_by_role("link", name=tr("nl", "Download CSV")).click()
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("table,month,group,measure,value")

    # coordinators: add one, remove him, and the last one cannot remove himself
    console.get_by_role("link", name=tr("nl", "Coordinators")).click()
    expect(console.get_by_role("heading", name=tr("nl", "Coordinators"))).to_be_visible(timeout=WAIT_MS)
    console.fill("#chat", "telegram:4242")
    console.get_by_role("button", name=tr("nl", "Add"), exact=True).click()
    expect(console.get_by_role("status")).to_have_text(tr("nl", "The coordinator is added."), timeout=WAIT_MS)
    expect(console.locator(".people")).to_contain_text("telegram:4242")
    shoot(console, "console-coordinators.png")
    assert axe_problems(console) == []
    console.get_by_role("button", name=f"{tr('nl', 'Remove')} telegram:4242").click()
    expect(console.get_by_role("status")).to_have_text(tr("nl", "The coordinator is removed."), timeout=WAIT_MS)
    expect(console.locator(".people")).not_to_contain_text("telegram:4242")
    console.get_by_role("button", name=f"{tr('nl', 'Remove')} demo:coordinator").click()
    expect(console.get_by_role("alert")).to_have_text(
        tr("nl", "You are the last coordinator. Add another one first, then you can be removed."), timeout=WAIT_MS
    )
    shoot(console, "console-coordinators-last.png")
    assert axe_problems(console) == []
    assert problems == []


def test_the_demo_pages_console_link_opens_the_overview_on_a_390_px_phone_under_the_strict_csp(demo, browser):  # noqa: F811
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
    phone.goto(demo + "/demo")
    problems: list[str] = []
    phone.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    phone.on("response", lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    phone.get_by_role("link", name="Console").click()
    phone.get_by_role("button", name=tr("nl", "Log in")).click()
    expect(phone.get_by_role("heading", name=tr("nl", "Overview"))).to_be_visible(timeout=WAIT_MS)
    expect(phone.locator(".card").filter(has_text=PAST_SERIES)).to_be_visible()
    assert phone.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")  # the CSS loaded
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
    shoot(phone, "console-overview-390.png")
    assert problems == []  # no CSP violation, no failed request


def axe_problems_under_csp(page: Page) -> list[str]:
    """``axe_problems`` for a page that keeps its strict CSP: axe-core is evaluated by the
    browser's debugging protocol, which the page's script-src does not govern, instead of being
    added as a script tag."""
    page.evaluate("source => { (0, eval)(source); }", AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_a_broadcast_in_two_languages_is_previewed_sent_and_followed_to_100_percent(demo, browser):  # noqa: F811
    """Issue 15 §4 in the browser: the form on a 390 px phone, the preview with the Arabic copy
    right to left, sending, and the progress bar that the event stream moves to 100 %."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
    problems: list[str] = []
    phone.on("console", lambda message: problems.append(f"{message.text} {message.location}") if message.type == "error" else None)
    phone.on("response", lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    streams: list[str] = []  # the page's script follows the progress events
    phone.on("response", lambda response: streams.append(response.headers.get("content-type", "")) if response.url.endswith("/events") else None)
    phone.goto(demo + "/demo")
    phone.get_by_role("link", name="Console").click()
    phone.get_by_role("button", name=tr("nl", "Log in")).click()
    phone.get_by_role("link", name=tr("nl", "Broadcast")).click()
    expect(phone.get_by_role("heading", name=tr("nl", "Broadcast"))).to_be_visible(timeout=WAIT_MS)
    phone.get_by_role("checkbox", name=re.compile("^" + re.escape(tr("nl", "Everyone")))).check()
    phone.fill("#text_nl", "Donderdag is er thee in het buurthuis.")
    phone.fill("#text_ar", "يوم الخميس يوجد شاي في المركز.")
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
    shoot(phone, "console-broadcast-form-390.png")
    assert axe_problems_under_csp(phone) == []
    phone.get_by_role("button", name=tr("nl", "Preview")).click()
    arabic = phone.locator('.bubble[lang="ar"]')
    expect(arabic).to_contain_text("يوم الخميس", timeout=WAIT_MS)
    assert arabic.get_attribute("dir") == "rtl"
    assert phone.evaluate("getComputedStyle(document.querySelector('.bubble[lang=ar]')).direction") == "rtl"
    expect(phone.locator('.bubble[lang="so"]')).to_contain_text(
        tr("so", "(This message is in Dutch because there is no translation in your language yet.)"))
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
    arabic.scroll_into_view_if_needed()
    shoot(phone, "console-broadcast-preview-390.png")
    assert axe_problems_under_csp(phone) == []
    phone.get_by_role("button", name=tr("nl", "Send the broadcast")).click()
    expect(phone.locator("#percent")).to_have_text("100 %", timeout=WAIT_MS)
    expect(phone.locator("#final")).to_have_text(tr("nl", "Finished."))
    expect(phone.locator("#cancel")).to_be_hidden()
    assert streams and streams[0].startswith("text/event-stream")
    assert phone.locator("#bar").get_attribute("value") == "100" or phone.evaluate("document.getElementById('bar').value") == 100
    assert int(phone.locator("#delivered").text_content()) > 0
    shoot(phone, "console-broadcast-done-390.png")
    assert axe_problems_under_csp(phone) == []
    phone.get_by_role("link", name=tr("nl", "All broadcasts")).click()
    expect(phone.locator("table")).to_contain_text(tr("nl", "Done"), timeout=WAIT_MS)
    shoot(phone, "console-broadcast-history-390.png")
    # no CSP violation, no failed request (the browser's own asking for /favicon.ico aside)
    assert [problem for problem in problems if "/favicon.ico" not in problem] == []


def test_edit_a_group_move_a_meeting_resolve_a_help_request_and_read_the_audit_log(demo, browser):  # noqa: F811
    """The rest of issue 15 in the browser, through the demo page's Console link: the demo's
    open help request on a 390 px phone, marked done; a group edited; one of its meetings
    moved; the change in the audit log. Each new page passes axe-core under its strict CSP."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
    problems: list[str] = []

    def watch(page: Page) -> None:
        """CSP violations and script errors; failed requests by their address (the console's
        "Failed to load resource" lines name none), less the refused form below (400, on
        purpose) and the browser's own asking for /favicon.ico."""
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and not (
            r.url.endswith("/favicon.ico") or (r.status == 400 and r.url.endswith("/edit"))) else None)

    watch(phone)
    phone.goto(demo + "/demo")
    phone.get_by_role("link", name="Console").click()
    phone.get_by_role("button", name=tr("nl", "Log in")).click()
    asked = phone.get_by_role("region", name=re.compile(re.escape(tr("nl", "Would like a coordinator to get in touch"))))
    expect(asked).to_contain_text("Ahmed", timeout=WAIT_MS)
    expect(asked).to_contain_text("demo:demo-ahmed")
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
    shoot(phone, "console-help-request-390.png")
    assert axe_problems_under_csp(phone) == []
    asked.get_by_role("button", name=tr("nl", "Mark as done: %(name)s").replace("%(name)s", "Ahmed")).click()
    expect(phone.get_by_role("status")).to_have_text(tr("nl", "The request is marked as done."), timeout=WAIT_MS)
    expect(asked).not_to_contain_text("Ahmed")
    expect(asked).to_contain_text(tr("nl", "Nobody is waiting to be contacted."))
    shoot(phone, "console-help-request-done-390.png")

    laptop = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    watch(laptop)
    laptop.goto(demo + "/demo")
    laptop.get_by_role("link", name="Console").click()
    laptop.get_by_role("button", name=tr("nl", "Log in")).click()
    laptop.locator(".card").filter(has_text="Werk en zorg").get_by_role("link").click()
    laptop.get_by_role("link", name=tr("nl", "Edit group")).click()
    expect(laptop.get_by_role("heading", name=tr("nl", "Edit group"))).to_be_visible(timeout=WAIT_MS)
    assert laptop.input_value("#name") == "Werk en zorg"
    shoot(laptop, "console-series-edit.png")
    assert axe_problems_under_csp(laptop) == []
    laptop.fill("#name", "   ")  # the rules of `meedoen series add`: the browser lets it through, they do not
    laptop.get_by_role("button", name=tr("nl", "Save group")).click()
    expect(laptop.locator("#error")).to_have_text(
        tr("nl", "%(field)s must not be empty.").replace("%(field)s", tr("nl", "Name")), timeout=WAIT_MS
    )
    assert axe_problems_under_csp(laptop) == []
    laptop.fill("#name", "Werk, zorg en gezin")
    laptop.fill("#capacity", "4")
    laptop.fill("#location", "Huis van de Wijk Slotervaart, zaal 2")
    laptop.get_by_role("button", name=tr("nl", "Save group")).click()
    expect(laptop.get_by_role("status")).to_have_text(tr("nl", "The group is saved."), timeout=WAIT_MS)
    expect(laptop.get_by_role("heading", name="Werk, zorg en gezin")).to_be_visible()
    expect(laptop.locator("main")).to_contain_text("zaal 2")
    shoot(laptop, "console-series-saved.png")

    # move its first meeting a day later, at 11:00
    laptop.get_by_role("link", name=tr("nl", "Move or cancel")).first.click()
    expect(laptop.get_by_role("heading", name=tr("nl", "Move this meeting"))).to_be_visible(timeout=WAIT_MS)
    shoot(laptop, "console-meeting.png")
    assert axe_problems_under_csp(laptop) == []
    day = date.fromisoformat(laptop.input_value("#date")) + timedelta(days=1)
    laptop.fill("#date", day.isoformat())
    laptop.fill("#time", "11:00")
    laptop.get_by_role("button", name=tr("nl", "Move the meeting")).click()
    expect(laptop.get_by_role("status")).to_have_text(
        tr("nl", "The meeting is moved. Everyone with a seat will be told."), timeout=WAIT_MS
    )
    expect(laptop.locator("main li").filter(has_text="11:00").first).to_be_visible()
    shoot(laptop, "console-meeting-moved.png")
    assert axe_problems_under_csp(laptop) == []

    # the audit log names both changes and the resolved request, the latest first
    laptop.get_by_role("link", name=tr("nl", "Audit log")).click()
    expect(laptop.get_by_role("heading", name=tr("nl", "Audit log"))).to_be_visible(timeout=WAIT_MS)
    actions = laptop.locator("tbody tr td:nth-child(3)").all_text_contents()
    assert actions[:3] == ["meeting.move", "series.edit", "console.login"] and "help.done" in actions
    shoot(laptop, "console-audit.png")
    assert axe_problems_under_csp(laptop) == []
    assert problems == []
