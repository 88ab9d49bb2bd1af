"""The web console in a real browser: Debian's headless Chromium driven by Selenium.

A staff member logs in through the link `/web` gave them, claims a ticket and replies, and
the resident's chat gets the reply; an admin edits an FAQ answer and the bot answers with it,
uploads a picture to the entry (a file of another type refused first), then schedules a
broadcast and finds it in the calendar.
Screenshots of each page at phone and desktop widths go to a folder the test prints. Under
CI=1 a missing browser fails the test (`.ci/run` installs it); elsewhere it is skipped.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from bot.config import Settings
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from bot.web.console import build_app, make_console
from tests.conftest import web_settings
from tests.fakes import FakeClock
from tests.harness import Bot, start_bot

PHONE, DESKTOP = (390, 844), (1280, 900)
ENTRY = "medical-insurance-online-payment"


def _find(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


@pytest.fixture
def driver() -> Iterator[WebDriver]:
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    chromedriver = _find("chromedriver", "chromium-driver")
    if chromium is None or chromedriver is None:
        message = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield browser
    finally:
        browser.quit()


class Page:
    """The browser, driven from the test's event loop: each blocking call runs in a thread so
    the bot and its web server (on this loop) keep serving meanwhile."""

    def __init__(self, driver: WebDriver, base: str, shots: Path) -> None:
        self.driver = driver
        self.base = base
        self.shots = shots

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    async def open(self, path: str) -> None:
        await self.run(self.driver.get, self.base + path)

    async def wait_for(self, css: str, needle: str = "") -> str:
        """The text of the first element `css` once it holds `needle` (on the page the last
        click led to: an element of the page before is stale, and waited past)."""

        def text_once_there(driver: WebDriver) -> str | None:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            text = str(found[0].text) if found else None
            return text if text is not None and needle in text else None

        def wait() -> str:
            waiting = WebDriverWait(
                self.driver, 20, ignored_exceptions=(StaleElementReferenceException,)
            )
            return str(waiting.until(text_once_there))

        text: str = await self.run(wait)
        return text

    async def type(self, css: str, text: str, *, clear: bool = False) -> None:
        def type_in() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, css)
            if clear:
                field.clear()
            field.send_keys(text)

        await self.run(type_in)

    async def click(self, css: str) -> None:
        await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def shoot(self, name: str) -> None:
        """The page at phone and at desktop width, its whole height."""
        for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):

            def shot(label: str = label, width: int = width, height: int = height) -> None:
                self.driver.set_window_size(width, height)
                full = self.driver.execute_script("return document.body.scrollHeight")
                self.driver.set_window_size(width, max(height, min(int(full) + 120, 4000)))
                self.driver.save_screenshot(str(self.shots / f"{name}-{label}.png"))

            await self.run(shot)
        await self.run(self.driver.set_window_size, *PHONE)


@pytest.fixture
async def page(
    driver: WebDriver,
    *,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> AsyncIterator[tuple[Bot, Page]]:
    bot = await start_bot(web_settings(make_settings, tmp_path), clock, analyzer, sentence_model)
    console = make_console(
        bot.core, bot.settings, bot.app.answer, bot.app.faq_changed, chat_first=bot.app.chat_first
    )
    server = TestServer(build_app(console), host="127.0.0.1")
    await server.start_server()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots: {shots}")
    try:
        yield bot, Page(driver, str(server.make_url("")).rstrip("/"), shots)
    finally:
        await server.close()
        bot.close()


def link_path(text: str) -> str:
    found = re.search(r"http://console\.test(/login\?t=\S+)", text)
    assert found is not None, text
    return found.group(1)


async def log_in(bot: Bot, browser: Page, user: str) -> str:
    """`user` asks for a link with /web, opens it and presses its button; the link's path."""
    (answer,) = await bot.chat(user).say("/web")
    path = link_path(answer.text)
    await browser.open(path)
    await browser.click("#login")
    await browser.wait_for("h1.today")
    return path


async def schedule_a_broadcast_and_read_the_report(browser: Page) -> None:
    """An admin schedules tonight's notice and finds it in the calendar; then the Report."""
    await browser.open("/broadcasts")
    await browser.type("#b-text", "今晚八点停电检修，请提前准备")
    await browser.click("input[name=targets][value=all]")
    await browser.click("input[name=when][value=at]")
    await browser.type("#b-moment", "20:00")
    await browser.click("#preview")
    assert await browser.wait_for("button.press") == "确认发送"
    assert "今晚八点停电检修" in await browser.wait_for("#said")
    await browser.click("button.press")  # 确认发送
    await browser.wait_for("#said", "已安排广播 1")
    await browser.wait_for("#calendar", "20:00 广播 1 → 全部小区群")
    await browser.shoot("broadcasts")

    await browser.open("/report")
    await browser.wait_for("#chart-opened", "每周新工单")
    await browser.shoot("report")


async def upload_a_picture(bot: Bot, browser: Page) -> None:
    """The admin picks a file that is no picture (refused beside the field), then one that
    is; the answer then carries it."""
    folder = bot.core.faq.path.parent
    notes, picture = folder.parent / "notes.png", folder.parent / "缴费步骤.png"
    notes.write_text("不是图片", encoding="utf-8")
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    await browser.type("#f-upload", str(notes))
    await browser.click("#save")
    assert "只能上传图片" in await browser.wait_for("#error-upload")
    await browser.type("#f-upload", str(picture))
    await browser.click("#save")
    await browser.wait_for("#saved", "已保存")
    (kept,) = (folder / "images").iterdir()
    assert kept.read_bytes() == picture.read_bytes()
    (answer, *_) = await bot.chat("wu").say("城乡居民医保怎么在网上缴费？")
    assert answer.files == (str(folder / "images" / kept.name),)


async def test_staff_claim_and_reply_in_the_browser_and_an_admin_edits_the_faq(
    page: tuple[Bot, Page],
) -> None:
    bot, browser = page
    await bot.chat("zhang", group="丰仓小区群").say("/report 3号楼后头的路灯黑了好几天了")
    await bot.chat("li", group="粮库宿舍群").say("/report 楼道里的下水道堵了，味道很大")

    staff_link = await log_in(bot, browser, "staff")
    assert "今日概况" in await browser.wait_for("h1.today")
    await browser.shoot("today")

    await browser.open("/tickets")
    await browser.wait_for("a[href='/tickets/1001']")
    await browser.shoot("tickets")
    await browser.click("a[href='/tickets/1001']")
    await browser.wait_for("#claim-button")
    await browser.click("#claim-button")
    await browser.wait_for("#said", "你已认领 #1001")
    await browser.type("#reply-text", "明天上午9点电工来修，麻烦在楼下等一下")
    await browser.click("#reply-button")
    await browser.wait_for(".thread .a-reply")
    assert (
        bot.texts("fake:zhang")[-1] == "工作人员回复 #1001：明天上午9点电工来修，麻烦在楼下等一下"
    )
    await browser.shoot("ticket")

    await browser.run(browser.driver.delete_all_cookies)
    assert await log_in(bot, browser, "admin") != staff_link
    await browser.open("/faq?q=医保怎么在网上交")
    await browser.wait_for("#decision")
    await browser.shoot("faq")
    await browser.open(f"/faq/{ENTRY}")
    await browser.type("#f-answer", "打开“河北人社”APP，首页点“城乡居民医保缴费”。", clear=True)
    await browser.click("#save")
    await browser.wait_for("#saved", "已保存")
    await browser.shoot("faq-edit")
    (answer, *_) = await bot.chat("wu").say("城乡居民医保怎么在网上缴费？")
    assert "河北人社" in answer.text
    await upload_a_picture(bot, browser)

    await schedule_a_broadcast_and_read_the_report(browser)
