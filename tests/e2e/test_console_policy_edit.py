"""Issue 16, editing the calendar and the policy in headless Chromium against a real
``opentutor serve``: a city officer adds a holiday (with its name), checks the diff,
gives a reason and saves; changes a number of the lecture rules, sees a refusal next to
the field first, then the diff, and saves; sees both in the history (who, when, why,
the diff, a TOML to download). A district officer sees the same page with no edit
controls. Screenshots: /tmp/shots/console-policy-edit*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.test_console import PASSWORD, create_staff_user, text_of
from tests.e2e.test_session import LAPTOP

pytestmark = pytest.mark.timeout(240)

SHOTS = Path("/tmp/shots")
CITY, DISTRICT = "city-officer", "tz-officer"


async def sign_in(browser: Browser, base: str, username: str) -> Page:
    context = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    page.on("pageerror", lambda exc: pytest.fail(f"page error: {exc}"))
    await page.goto(base + "/console#/policy")
    await page.fill('[data-testid="signin-username"]', username)
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.press('[data-testid="signin-password"]', "Enter")
    await page.wait_for_selector('[data-testid="policy-table"]')
    await page.wait_for_selector('[data-testid="term-row"]')
    return page


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_a_city_officer_edits_and_a_district_officer_reads(
    opentutor_server: RunningServer, browser: Browser, shots: Path
) -> None:
    server = opentutor_server
    create_staff_user(server, CITY, "--level", "city")
    create_staff_user(server, DISTRICT, "--level", "district", "--district-code", "110112")
    page = await sign_in(browser, server.base, CITY)
    assert "包括过去课程的结算" in await text_of(page, "policy-notice")
    assert await page.locator('[data-testid="policy-editable"]').count() == 1
    assert (await page.get_attribute('[data-testid="calendar-version"]', "data-seq")) == "0"

    # The calendar: a holiday with its name, previewed, then saved with a reason.
    await page.click('[data-testid="calendar-edit-open"]')
    await page.fill('[data-testid="edit-holiday-date"]', "2026-11-20")
    await page.fill('[data-testid="edit-holiday-name"]', "校庆日")
    await page.click('[data-testid="edit-holiday-add"]')
    await page.click('[data-testid="calendar-check"]')
    preview = page.locator('[data-testid="calendar-preview"]')
    await preview.wait_for()
    assert "节假日 2026-11-20：（无） → 校庆日" in (await preview.text_content() or "")
    await page.screenshot(path=str(shots / "console-policy-edit-preview.png"), full_page=True)
    await page.fill('[data-testid="calendar-note"]', "市教委通知：11 月 20 日校庆放假")
    await page.click('[data-testid="calendar-save"]')
    await page.wait_for_selector('[data-testid="calendar-version"][data-seq="1"]')
    assert await page.locator('[data-testid="holiday-row"]', has_text="校庆日").count() == 1

    # A number: the lecture's minimum minutes above its maximum is refused beside the field.
    training = page.locator('[data-testid="policy-programme"][data-programme="training"]')
    await training.locator('[data-testid="policy-edit-open"]').click()
    field = training.locator('[data-path="forms.lecture.limits.min_minutes"]')
    await field.fill("100")
    await training.locator('[data-testid="policy-training-check"]').click()
    refusal = training.locator('[data-testid="edit-field-error"]')
    await refusal.wait_for()
    assert "最长时长不能小于最短时长" in (await refusal.text_content() or "")
    assert await training.locator('[data-path="forms.lecture.limits.max_minutes"]'
                                  ).get_attribute("aria-invalid") == "true"
    await page.screenshot(path=str(shots / "console-policy-edit-refused.png"), full_page=True)
    await field.fill("60")
    await training.locator('[data-path="forms.lecture.min_viewers"]').fill("2")
    await training.locator('[data-testid="policy-training-check"]').click()
    diff = training.locator('[data-testid="policy-training-preview"]')
    await diff.wait_for()
    assert "最少同时观看人数：1 → 2" in (await diff.text_content() or "")
    await training.locator('[data-testid="policy-training-note"]').fill("讲座至少两人同时观看")
    await training.locator('[data-testid="policy-training-save"]').click()
    await page.wait_for_selector('[data-testid="policy-version"][data-seq="2"]')
    training = page.locator('[data-testid="policy-programme"][data-programme="training"]')
    assert "至少 2 名学员同时在接收时才计时" in (await training.text_content() or "")

    # The history: who, when, why, the diff; a TOML to download; older versions restorable.
    await training.locator('[data-testid="policy-history-box"] summary').click()
    rows = training.locator('[data-testid="history-row"]')
    await rows.first.wait_for()
    assert await rows.count() == 2
    latest = await rows.first.text_content() or ""
    assert CITY in latest and "讲座至少两人同时观看" in latest and "1 → 2" in latest
    assert await rows.first.locator('[data-testid="history-in-effect"]').count() == 1
    assert await rows.nth(1).locator('[data-testid="history-restore"]').count() == 1
    href = await rows.first.locator('[data-testid="history-download"]').get_attribute("href")
    assert href == "/api/v1/policy/training/versions/2.toml"
    calendar_history = page.locator('[data-testid="calendar-history-box"]')
    await calendar_history.locator("summary").click()
    await calendar_history.locator('[data-testid="history-row"]').first.wait_for()
    assert "校庆日" in (await calendar_history.text_content() or "")
    await page.screenshot(path=str(shots / "console-policy-edit.png"), full_page=True)

    # English: the same page in the other language.
    await page.click('[data-testid="lang-switch"]')
    # The Chinese page is still there until the English one replaces it: wait for the words.
    await page.wait_for_function(
        """() => (document.querySelector('[data-testid="policy-notice"]')?.textContent || '')
                 .includes('each statement names the version')""")
    await page.wait_for_selector('[data-testid="policy-editable"]')
    assert "each statement names the version" in await text_of(page, "policy-notice")

    # A district officer: the versions, the history, no edit controls.
    district = await sign_in(browser, server.base, DISTRICT)
    assert await district.locator('[data-testid="policy-readonly"]').count() == 1
    assert (await district.get_attribute('[data-testid="calendar-version"]', "data-seq")) == "1"
    for testid in ("calendar-edit-box", "policy-edit-box", "history-restore"):
        assert await district.locator(f'[data-testid="{testid}"]').count() == 0, testid
    await district.locator('[data-testid="calendar-history-box"] summary').click()
    await district.locator('[data-testid="history-row"]').first.wait_for()
    await district.screenshot(path=str(shots / "console-policy-edit-district.png"),
                              full_page=True)
