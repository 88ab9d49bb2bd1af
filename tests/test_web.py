"""The web console through the real app and store over real HTTP.

Logging in with a one-time link, sessions, CSRF, roles per request, ticket steps that reach
residents as chat ones do, and FAQ edits the bot answers with.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from bot.config import Settings, WebConfig
from bot.faq.history import FaqEdits
from bot.faq.meaning import ModelStatus
from bot.faq.text import TextAnalyzer
from channels.base import ChannelError
from tests.fakes import FakeChannel, FakeClock
from tests.harness import Bot, start_bot
from tests.scheduled import button
from tests.web_helpers import VERSION, console_client, csrf_of, log_in, login_path

STAFF_ROOM = "other:g:staffroom"
ENTRY = "medical-insurance-online-payment"


async def report_light(bot: Bot) -> int:
    await bot.chat("zhang", group="丰仓小区群").say("/report 3号楼后头的路灯黑了好几天了")
    return 1001


async def test_web_in_private_gives_a_link_that_logs_in_once(wbot: Bot) -> None:
    await report_light(wbot)
    (reply,) = await wbot.chat("staff").say("/web")
    found = re.search(r"http://console\.test(/login\?t=\S+)", reply.text)
    assert found is not None and "10 分钟" in reply.text
    async with console_client(wbot) as (_, client):
        blind = await client.get("/", allow_redirects=False)
        assert blind.status == 303 and blind.headers["Location"] == "/login"
        page = await client.get("/")
        assert "路灯" not in await page.text()  # the login page shows no data
        for _ in range(2):  # a chat app fetching the link for its preview uses nothing
            assert (await client.get(found.group(1))).status == 200
        logged = await log_in(client, found.group(1))
        assert logged.status == 303
        cookie = logged.cookies["yishiting_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        today = await (await client.get("/")).text()
        assert "今日概况" in today and "3号楼后头的路灯" not in today  # counts, then tickets
        listing = await (await client.get("/tickets")).text()
        assert "#1001" in listing and "3号楼后头的路灯" in listing
    async with console_client(wbot) as (_, other):  # the same link again, from elsewhere
        again = await other.get(found.group(1))
        assert again.status == 403 and "已经用过" in await again.text()
        assert (await other.get("/tickets", allow_redirects=False)).status == 303


async def test_links_expire_are_unforgeable_and_only_for_staff(wbot: Bot, clock: FakeClock) -> None:
    async with console_client(wbot) as (console, client):
        late = login_path(console, "fake:staff")
        clock.advance(minutes=11)
        expired = await client.get(late)
        assert expired.status == 403 and "已过期" in await expired.text()

        resident = await log_in(client, login_path(console, "fake:zhang"))
        assert resident.status == 403 and "不是工作人员" in await resident.text()

        good = login_path(console, "fake:staff")
        forged = good.replace("ZmFrZTpzdGFmZg", "ZmFrZTphZG1pbg")  # fake:staff -> fake:admin
        assert forged != good
        refused = await client.get(forged)
        assert refused.status == 403 and "无效" in await refused.text()
        assert (await client.get("/", allow_redirects=False)).status == 303
    (resident_try,) = await wbot.chat("zhang").say("/web")
    assert "/login" not in resident_try.text


async def test_sessions_expire_and_follow_the_roles(wbot: Bot, clock: FakeClock) -> None:
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        assert (await client.get("/tickets")).status == 200
        clock.advance(hours=13)  # sessions last 12 hours
        assert (await client.get("/tickets", allow_redirects=False)).status == 303


async def test_a_form_without_its_csrf_token_changes_nothing(wbot: Bot) -> None:
    number = await report_light(wbot)
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        page = await (await client.get(f"/tickets/{number}")).text()
        refused = await client.post(f"/tickets/{number}/claim", data={"csrf": "x" * 32})
        assert refused.status == 403 and "表单已失效" in await refused.text()
        missing = await client.post(f"/tickets/{number}/claim", data={})
        assert missing.status == 403
        ticket = wbot.tickets.get(number)
        assert ticket is not None and ticket.status.value == "open"
        ok = await client.post(f"/tickets/{number}/claim", data={"csrf": csrf_of(page)})
        assert ok.status == 200 and "你已认领 #1001" in await ok.text()


async def test_staff_cannot_open_admin_pages(wbot: Bot) -> None:
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        listing = await client.get("/faq")
        assert listing.status == 200 and f'href="/faq/{ENTRY}"' not in await listing.text()
        page = await client.get(f"/faq/{ENTRY}")
        assert page.status == 403 and "只有管理员" in await page.text()
        posted = await client.post(f"/faq/{ENTRY}", data={"csrf": "x", "answer": "hacked"})
        assert posted.status == 403
    assert "hacked" not in wbot.core.faq.path.read_text(encoding="utf-8")


async def test_a_web_reply_reaches_the_resident_and_the_staff_room_hears(wbot: Bot) -> None:
    number = await report_light(wbot)
    before_room = len(wbot.sent_to(STAFF_ROOM))
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "other:zhu"))
        csrf = csrf_of(await (await client.get(f"/tickets/{number}")).text())
        claimed = await client.post(f"/tickets/{number}/claim", data={"csrf": csrf})
        assert "你已认领 #1001" in await claimed.text()
        assert wbot.texts("fake:zhang")[-1] == "您反映的问题 #1001 已有工作人员接手处理。"
        replied = await client.post(
            f"/tickets/{number}/reply", data={"csrf": csrf, "text": "明天上午9点电工来修"}
        )
        page = await replied.text()
        assert "已记下对 #1001 的回复" in page and "明天上午9点电工来修" in page
        assert wbot.texts("fake:zhang")[-1] == "工作人员回复 #1001：明天上午9点电工来修"
        noted = await client.post(
            f"/tickets/{number}/note", data={"csrf": csrf, "text": '=HYPERLINK("x")'}
        )
        assert noted.status == 200
        empty = await client.post(f"/tickets/{number}/reply", data={"csrf": csrf, "text": " "})
        assert empty.status == 400 and "请先填写内容" in await empty.text()
        csv = await (await client.get("/tickets.csv?status=all")).text()
        assert "1001,report,in_progress" in csv
        assert "fake:zhang" not in csv  # no resident's private chat id
        ticket_page = await (await client.get(f"/tickets/{number}")).text()
        assert "fake:zhang" not in ticket_page and "经 web" in ticket_page
    ticket = wbot.tickets.get(number)
    assert ticket is not None
    assert [(e.action, e.via, e.who) for e in ticket.history[1:]] == [
        ("claim", "web", "other:zhu"),
        ("reply", "web", "other:zhu"),
        ("note", "web", "other:zhu"),
    ]
    notices = wbot.texts(STAFF_ROOM)[before_room:]
    assert len(notices) == 3 and all("#1001" in n and "zhu" in n for n in notices)
    # A chat step on the same ticket afterwards sees what the web did.
    (resolved,) = await wbot.chat("zhu", group="staffroom", network="other").say("/resolve 1001")
    assert "已标记为已解决" in resolved.text


async def test_a_web_step_and_a_chat_step_at_once_one_wins_the_other_is_told(wbot: Bot) -> None:
    number = await report_light(wbot)
    staff = wbot.chat("zhu", group="staffroom", network="other")
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        csrf = csrf_of(await (await client.get(f"/tickets/{number}")).text())
        web_step = client.post(f"/tickets/{number}/resolve", data={"csrf": csrf, "text": "修好了"})
        web_reply, chat_reply = await asyncio.gather(web_step, staff.say("/reject 1001 不归我们管"))
        web_text = await web_reply.text()
    ticket = wbot.tickets.get(number)
    assert ticket is not None and ticket.status.value in ("resolved", "rejected")
    told = web_text if ticket.status.value == "rejected" else chat_reply[0].text
    assert "#1001 现在是" in told and "不能执行" in told  # the loser is told, nothing torn
    assert [e.action for e in ticket.history].count("open") == 1
    assert len([e for e in ticket.history if e.action in ("resolve", "reject")]) == 1


async def test_an_faq_edit_is_saved_reloaded_and_answered_with(wbot: Bot) -> None:
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:admin"))
        form = await (await client.get(f"/faq/{ENTRY}")).text()
        questions = re.search(r'id="f-questions"[^>]*>([^<]*)<', form)
        assert questions is not None
        saved = await client.post(
            f"/faq/{ENTRY}",
            data={
                "csrf": csrf_of(form),
                "version": VERSION.findall(form)[0],
                "category": "医保社保",
                "questions": questions.group(1).replace("&#34;", '"'),
                "answer": "打开“河北人社”APP，点“城乡居民医保缴费”。\n每年 9 月到 12 月缴费。",
                "keywords": "",
                "attachments": "",
            },
        )
        assert saved.status == 200 and "已保存到 faq.yaml" in await saved.text()
    text = wbot.core.faq.path.read_text(encoding="utf-8")
    assert "河北人社" in text and "# 丰仓社区党群服务中心" in text  # comments kept
    (answer, *_) = await wbot.chat("zhang").say("城乡居民医保怎么在网上缴费？")
    assert "河北人社" in answer.text
    (edit,) = wbot.core.store.repo(FaqEdits).of_entry(ENTRY)
    assert edit["who"] == "fake:admin" and edit["via"] == "web"


async def test_an_invalid_faq_edit_names_the_field_and_leaves_the_file(wbot: Bot) -> None:
    before = wbot.core.faq.path.read_bytes()
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:admin"))
        form = await (await client.get(f"/faq/{ENTRY}")).text()
        refused = await client.post(
            f"/faq/{ENTRY}",
            data={
                "csrf": csrf_of(form),
                "version": VERSION.findall(form)[0],
                "category": "医保社保",
                "questions": "",
                "answer": "新的答案",
            },
        )
        page = await refused.text()
        assert refused.status == 400 and 'id="error-questions"' in page
        assert "新的答案" in page  # what the admin typed is still in the form
        too_long = await client.post(
            f"/faq/{ENTRY}",
            data={"csrf": csrf_of(form), "version": "v", "category": "x" * 80, "questions": "q"},
        )
        assert too_long.status == 400 and 'id="error-category"' in await too_long.text()
    assert wbot.core.faq.path.read_bytes() == before


async def test_two_admins_editing_one_entry_the_second_is_told(wbot: Bot) -> None:
    async with console_client(wbot) as (c1, first), console_client(wbot) as (c2, second):
        await log_in(first, login_path(c1, "fake:admin"))
        await log_in(second, login_path(c2, "fake:admin"))
        form1 = await (await first.get(f"/faq/{ENTRY}")).text()
        form2 = await (await second.get(f"/faq/{ENTRY}")).text()

        def data(form: str, answer: str) -> dict[str, str]:
            return {
                "csrf": csrf_of(form),
                "version": VERSION.findall(form)[0],
                "category": "医保社保",
                "questions": "城乡居民医保怎么在网上缴费？",
                "answer": answer,
            }

        ok = await first.post(f"/faq/{ENTRY}", data=data(form1, "第一位管理员的答案"))
        assert ok.status == 200
        late = await second.post(f"/faq/{ENTRY}", data=data(form2, "第二位管理员的答案"))
        page = await late.text()
        assert late.status == 409 and "别人已经改过" in page
        assert "第一位管理员的答案" in page and "第二位管理员的答案" in page  # nothing lost
    text = wbot.core.faq.path.read_text(encoding="utf-8")
    assert "第一位管理员的答案" in text and "第二位管理员的答案" not in text


async def test_try_a_question_shows_the_decision(wbot: Bot) -> None:
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        page = await (await client.get("/faq", params={"q": "城乡居民医保怎么在网上缴费？"})).text()
        assert "会直接回答" in page and ENTRY in page and "得分" in page
        nothing = await (await client.get("/faq", params={"q": "火星上有没有WiFi"})).text()
        assert "答不上来" in nothing or "您是不是想问" in nothing or "会给出" in nothing


async def test_ticket_filters(wbot: Bot) -> None:
    await report_light(wbot)
    await wbot.chat("li", group="丰仓小区群").say("/report =1+2 楼道里的下水道堵了")
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        found = await (await client.get("/tickets", params={"text": "下水道"})).text()
        assert "#1002" in found and "#1001" not in found
        light = await (await client.get("/tickets", params={"category": "路灯照明"})).text()
        assert "#1001" in light and "#1002" not in light
        closed = await (await client.get("/tickets", params={"status": "resolved"})).text()
        assert "#1001" not in closed and "共 0 件" in closed
        csv = await (await client.get("/tickets.csv", params={"text": "下水道"})).text()
        assert csv.startswith("\ufeffnumber,") and ",'=1+2 楼道里的下水道堵了," in csv


async def test_an_admin_schedules_a_broadcast_on_the_web_and_sees_it_in_the_calendar(
    wbot: Bot,
) -> None:
    await wbot.chat("zhang", group="丰仓小区群").say("大家早上好")  # the bot knows the group
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        assert (await client.get("/broadcasts")).status == 403
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:admin"))
        # Today is seen first: its next broadcasts, kept a minute, must not hide a new one
        assert "广播 1" not in await (await client.get("/")).text()
        page = await (await client.get("/broadcasts")).text()
        csrf = csrf_of(page)
        preview = await client.post(
            "/broadcasts",
            data={
                "csrf": csrf,
                "text": "今晚八点停电检修",
                "targets": "all",
                "when": "at",
                "moment": "20:00",
            },
        )
        shown = await preview.text()
        assert "今晚八点停电检修" in shown and "确认发送" in shown
        action = re.search(r'name="action" value="(bc:[^"]+)"', shown)
        assert action is not None
        confirmed = await (
            await client.post("/broadcasts/press", data={"csrf": csrf, "action": action.group(1)})
        ).text()
        assert "已安排广播 1" in confirmed
        calendar = confirmed.split('id="calendar"')[1]
        assert "20:00</span> 广播 1 → 全部小区群" in calendar and "12-01 周二" in calendar
        today = await (await client.get("/")).text()
        assert "接下来的广播" in today and "广播 1 → 全部小区群" in today
        assert "broadcast 1 to all" not in today  # in the viewer's language, as the calendar
        weekly = await (
            await client.post(
                "/broadcasts",
                data={
                    "csrf": csrf,
                    "text": "周六上午义诊",
                    "targets": "丰仓小区",
                    "when": "cron",
                    "moment": "每周六 09:00",
                },
            )
        ).text()
        assert "周六上午义诊" in weekly and "确认发送" in weekly
        cancelled = await (
            await client.post("/broadcasts/cancel", data={"csrf": csrf, "number": "1"})
        ).text()
        assert "广播 1 已撤销" in cancelled
        assert "广播 1 →" not in cancelled.split('id="calendar"')[1]
        assert "广播 1 →" not in await (await client.get("/")).text()


async def test_the_report_draws_the_weeks_in_svg_with_chinese_labels(
    wbot: Bot, clock: FakeClock
) -> None:
    await report_light(wbot)
    staff = wbot.chat("zhu", group="staffroom", network="other")
    clock.advance(hours=1)
    await staff.say("/claim 1001")
    clock.advance(hours=2)
    await staff.say("/resolve 1001 已更换灯泡")
    clock.advance(days=7)
    await wbot.chat("li", group="粮库宿舍群").say("/report 楼道里的下水道堵了")
    await wbot.chat("wu").say("城乡居民医保怎么在网上缴费？")
    await wbot.chat("wu").say("火星上的快递怎么寄")
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        response = await client.get("/report")
        page = await response.text()
    assert response.status == 200
    opened = page.split('id="chart-opened"')[1].split('id="chart-times"')[0]
    assert "<svg" in opened and "丰仓小区" in opened and "粮库宿舍" in opened
    assert "每周新工单" in opened and ">11-30<" in opened  # weeks start on Mondays
    assert "首次回复" in page and "本周问答结果" in page
    assert "<script" not in page and 'src="http' not in page  # nothing from the internet
    # the drain, and the question nobody could answer (it went to the staff as a ticket)
    assert "本周新工单 2 件" in page and "本周私聊提问 2 次" in page
    assert "火星上的快递怎么寄" in page.split("答不上来、问得最多")[1]
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        today = await (await client.get("/")).text()
    assert "本周问答直接答上 50%（共 2 问）" in today and "今晚延时服务预约 0 人" in today


async def test_an_unanswered_question_becomes_a_wording_in_one_click(wbot: Bot) -> None:
    question = "农合钱往哪交"  # only suggestions for it in the bundled FAQ
    entry = wbot.core.faq.matcher.faq.get(ENTRY)
    assert entry is not None
    (first, *_) = await wbot.chat("wu").say(question)
    assert entry.answer.splitlines()[0] not in first.text
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:admin"))
        page = await (await client.get("/faq")).text()
        assert question in page.split('id="unanswered"')[1]
        added = await client.post(
            "/faq/wording", data={"csrf": csrf_of(page), "entry": ENTRY, "wording": question}
        )
        assert "已加到 medical-insurance-online-payment 的问法里" in await added.text()
    assert question in wbot.core.faq.path.read_text(encoding="utf-8")
    (again, *_) = await wbot.chat("zhao").say(question)
    assert entry.answer.splitlines()[0] in again.text


async def test_a_cookie_from_another_deployment_and_oversized_forms_are_refused(
    wbot: Bot, tmp_path: Path
) -> None:
    from bot.web.sessions import COOKIE, Sessions
    from bot.weblogin.signing import Signer, load_key

    number = await report_light(wbot)
    elsewhere = Sessions(Signer(load_key(tmp_path / "other-data")), wbot.clock, timedelta(hours=1))
    foreign, _ = elsewhere.new("fake:admin")
    async with console_client(wbot) as (console, client):
        client.session.cookie_jar.update_cookies({COOKIE: foreign})
        assert (await client.get("/tickets", allow_redirects=False)).status == 303
        await log_in(client, login_path(console, "fake:staff"))
        page = await (await client.get(f"/tickets/{number}")).text()
        huge = await client.post(
            f"/tickets/{number}/reply", data={"csrf": csrf_of(page), "text": "修" * 40_000}
        )
        assert huge.status == 413
        long = await client.post(
            f"/tickets/{number}/reply", data={"csrf": csrf_of(page), "text": "修" * 1001}
        )
        assert long.status == 400 and "内容太长（最多 1000 字）" in await long.text()
    ticket = wbot.tickets.get(number)
    assert ticket is not None and [e.action for e in ticket.history] == ["open"]


async def test_a_new_entry_is_started_from_an_unanswered_question(wbot: Bot) -> None:
    question = "小区里可以养鸽子吗"
    (first, *_) = await wbot.chat("wu").say(question)
    assert "楼顶不能搭鸽棚" not in first.text
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        assert (await client.get("/faq/_new", params={"question": question})).status == 403
    before = wbot.core.faq.path.read_bytes()
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:admin"))
        listing = await (await client.get("/faq")).text()
        link = re.search(r'href="(/faq/_new\?question=[^"]+)"', listing.split('id="unanswered"')[1])
        assert link is not None
        form = await (await client.get(link.group(1).replace("&amp;", "&"))).text()
        assert re.search(r'id="f-questions"[^>]*>小区里可以养鸽子吗<', form)
        data = {
            "csrf": csrf_of(form),
            "id": "养鸽子",
            "category": "邻里",
            "questions": question,
            "answer": "楼顶不能搭鸽棚，阳台养要关好笼子。",
        }
        bad_id = await client.post("/faq/_new", data=data)
        page = await bad_id.text()
        assert bad_id.status == 400 and 'id="error-id"' in page and "楼顶不能搭鸽棚" in page
        taken = await client.post("/faq/_new", data=data | {"id": ENTRY})
        assert taken.status == 400 and 'id="error-id"' in await taken.text()
        empty = await client.post("/faq/_new", data=data | {"id": "pigeons", "answer": ""})
        assert empty.status == 400 and 'id="error-answer"' in await empty.text()
        assert wbot.core.faq.path.read_bytes() == before  # refused: the file untouched
        saved = await client.post("/faq/_new", data=data | {"id": "pigeons"})
        assert saved.status == 200 and "已保存到 faq.yaml" in await saved.text()
    text = wbot.core.faq.path.read_text(encoding="utf-8")
    assert "id: pigeons" in text and "# 丰仓社区党群服务中心" in text  # comments kept
    (answer, *_) = await wbot.chat("zhao").say(question)
    assert "楼顶不能搭鸽棚" in answer.text
    (made,) = wbot.core.store.repo(FaqEdits).of_entry("pigeons")
    assert made["who"] == "fake:admin" and made["via"] == "web"


async def test_try_a_question_shows_the_closest_question_of_the_best_entry(wbot: Bot) -> None:
    async with console_client(wbot) as (console, client):
        await log_in(client, login_path(console, "fake:staff"))
        page = await (await client.get("/faq", params={"q": "医保能在手机上交吗"})).text()
        shown = re.search(r'<p id="phrasing">([^<]*)</p>', page)
        assert shown is not None and "“医保咋在手机上交”" in shown.group(1)
        nothing = await (await client.get("/faq", params={"q": "火星上有没有WiFi"})).text()
        assert 'id="phrasing"' not in nothing


async def test_broadcasts_page_reports_each_groups_delivery_and_speaks_chinese(sched: Bot) -> None:
    admin = sched.chat("admin")
    (preview,) = await admin.say("/broadcast now to all: 明天上午停水，请提前储水")
    other = next(c for c in sched.channels if c.name == "other")
    assert isinstance(other, FakeChannel)  # 粮库宿舍群 is on "other": the bot was removed
    other.failures.append(
        ChannelError("Forbidden: bot was kicked", retryable=False, unreachable="left")
    )
    await admin.say(action=button(preview, "确认"))
    await sched.app.scheduler.settle()
    (weekly,) = await admin.say('/broadcast cron "0 9 * * sat" to 丰仓小区: 周六上午义诊')
    await admin.say(action=button(weekly, "确认"))
    async with console_client(sched) as (console, client):
        await log_in(client, login_path(console, "fake:admin"))
        page = await (await client.get("/broadcasts")).text()
    reports = page.split('id="deliveries"')[1].split("</ul>")[0]
    assert "广播 1 · 12-01 09:00" in reports
    assert "已送达 1" in reports and "无法送达 1" in reports and "失败" not in reports
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)", reports)
    assert sorted(rows) == [("丰仓小区", "已送达"), ("粮库宿舍", "无法送达 ")]
    calendar = page.split('id="calendar"')[1].split("</dl>")[0]
    assert "12-05 周六" in calendar and "09:00</span> 广播 2 → 丰仓小区" in calendar
    assert "员工早报（工作群）" in calendar and "延时服务：" in calendar
    assert "broadcast" not in calendar and "digest" not in calendar  # no English left


async def test_the_report_counts_evening_bookings_and_no_shows(
    sched_settings: Settings,
    tmp_path: Path,
    analyzer: TextAnalyzer,
    sentence_model: ModelStatus,
    clock: FakeClock,
) -> None:
    """An elderly resident books 延时服务 and does not come; the staff mark it on the roster;
    the admins' Report shows the week's booking and its no-show."""
    settings = sched_settings.model_copy(update={"web": WebConfig(base_url="http://console.test")})
    bot = await start_bot(settings, clock, analyzer, sentence_model)
    try:
        wu = bot.chat("wu")
        await wu.say("/book")
        await wu.say("明天")
        await wu.say("1")
        (booked,) = await wu.say("医保")
        assert "预约成功" in booked.text
        staff = bot.chat("zhu", group="staffroom", network="other")
        marked = await staff.say(action="b:noshow:1")  # the roster's 未到 button
        assert any("未到" in o.text for o in marked), marked
        async with console_client(bot) as (console, client):
            await log_in(client, login_path(console, "fake:admin"))
            page = await (await client.get("/report")).text()
        evening = page.split('id="chart-evening"')[1]
        assert "延时服务：每周预约与爽约" in evening and "爽约" in evening
        bookings = bot.core.scheduling.appointments.bookings_on(clock().date().replace(day=2))
        assert [b.status for b in bookings] == ["noshow"]
    finally:
        bot.close()
