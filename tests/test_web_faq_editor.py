"""The FAQ entry editor over real HTTP: problems beside their fields in the viewer's
language, and attachments uploaded with an edit (issue 15)."""

from __future__ import annotations

import html
import re

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from bot.faq.entries import load_faq
from bot.faq.history import FaqEdits
from bot.i18n import Translator
from bot.web.uploads import MAX_BYTES
from tests.harness import Bot
from tests.web_helpers import VERSION, console_client, csrf_of, log_in, login_path

ENTRY = "medical-insurance-online-payment"
QUESTION = "城乡居民医保怎么在网上缴费？"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n"
Client = TestClient[web.Request, web.Application]


def error_beside(page: str, field: str) -> str:
    """The line shown beside a field, as the viewer reads it."""
    found = re.search(rf'<p class="error" id="error-{field}">([^<]*)</p>', page)
    assert found is not None, f"no error beside {field}"
    return html.unescape(found.group(1))


def entry_form(page: str, **fields: str) -> dict[str, str]:
    """The editor's form as it was shown, with `fields` typed over it."""
    values = {"csrf": csrf_of(page), "version": VERSION.findall(page)[0]}
    category = re.search(r'id="f-category" name="category" value="([^"]*)"', page)
    assert category is not None
    values["category"] = html.unescape(category.group(1))
    for name in ("questions", "answer", "keywords", "attachments"):
        found = re.search(rf'<textarea id="f-{name}"[^>]*>([^<]*)<', page)
        assert found is not None, name
        values[name] = html.unescape(found.group(1))
    return values | fields


def multipart(form: dict[str, str], upload: tuple[str, bytes] | None) -> FormData:
    """The form as a browser posts it with a file field (no file chosen: an empty part)."""
    data = FormData()
    for name, value in form.items():
        data.add_field(name, value)
    filename, content = upload or ("", b"")
    data.add_field("upload", content, filename=filename, content_type="application/octet-stream")
    return data


async def admin_editor(wbot: Bot, client: Client, console_login: str, lang: str) -> str:
    if lang == "en":
        await wbot.chat("admin").say("/lang en")
    await log_in(client, console_login)
    return await (await client.get(f"/faq/{ENTRY}")).text()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_problems_are_told_beside_their_fields_in_the_viewers_language(
    wbot: Bot, lang: str
) -> None:
    t = Translator()
    faq = load_faq(wbot.core.faq.path)
    grid = next(e for e in faq.entries if "网格员" in e.keywords)
    before = wbot.core.faq.path.read_bytes()
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), lang)
        typed = entry_form(
            page,
            questions="",
            answer="",
            keywords="医保缴费\n网格员",
            attachments="../secrets.png\nimages/none-such.png",
            category="x" * 80,
        )
        refused = await client.post(f"/faq/{ENTRY}", data=typed)
        shown = await refused.text()
        assert refused.status == 400
        expected = {
            "category": t(
                lang, "web_error_too_long", field=t(lang, "web_field_category"), limit=50
            ),
            "questions": t(lang, "web_error_no_question"),
            "answer": t(lang, "web_error_empty", field=t(lang, "web_field_answer")),
            "keywords": t(lang, "web_error_keyword_taken", keyword="网格员", title=grid.title),
            "attachments": t(lang, "web_error_attachment_path", path="../secrets.png"),
        }
        for field, line in expected.items():
            assert error_beside(shown, field) == line
        assert "field '" not in shown and "entry '" not in shown  # no operator's ConfigError
        missing = entry_form(page, attachments="images/none-such.png")
        found = await (await client.post(f"/faq/{ENTRY}", data=missing)).text()
        assert error_beside(found, "attachments") == t(
            lang, "web_error_attachment_missing", path="images/none-such.png"
        )
        taken = entry_form(page, questions=f"{QUESTION}\n{grid.questions[0]}")
        said = await (await client.post(f"/faq/{ENTRY}", data=taken)).text()
        assert error_beside(said, "questions") == t(
            lang, "web_error_question_taken", question=grid.questions[0], title=grid.title
        )
    assert wbot.core.faq.path.read_bytes() == before


async def test_the_chinese_lines_read_as_staff_would_say_them(wbot: Bot) -> None:
    grid = next(e for e in load_faq(wbot.core.faq.path).entries if "网格员" in e.keywords)
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), "zh-CN")
        typed = entry_form(page, questions="", keywords="网格员")
        shown = await (await client.post(f"/faq/{ENTRY}", data=typed)).text()
        assert error_beside(shown, "questions").startswith("问法不能为空")
        assert error_beside(shown, "keywords") == f"关键词“网格员”已被条目“{grid.title}”使用。"
        new = await (await client.get("/faq/_new")).text()
        form = {"csrf": csrf_of(new), "category": "邻里", "questions": "养鸽子", "answer": "可以"}
        for entry_id, line in (
            ("", "编号不能为空。"),
            ("养鸽子", "编号只能用英文小写字母、数字和连字符，如 street-light-repair。"),
            (ENTRY, f"编号“{ENTRY}”已被条目“{QUESTION}”使用。"),
        ):
            refused = await client.post("/faq/_new", data=form | {"id": entry_id})
            assert refused.status == 400
            assert error_beside(await refused.text(), "id") == line


async def test_a_keyword_the_entry_already_shared_is_not_held_against_an_edit(wbot: Bot) -> None:
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), "zh-CN")
        saved = await client.post(f"/faq/{ENTRY}", data=entry_form(page, answer="新的答案"))
        assert saved.status == 200 and "已保存到 faq.yaml" in await saved.text()


async def test_an_uploaded_picture_is_kept_beside_faq_yaml_and_sent_with_the_answer(
    wbot: Bot,
) -> None:
    folder = wbot.core.faq.path.parent
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), "zh-CN")
        posted = multipart(entry_form(page), ("缴费步骤.png", PNG))
        saved = await client.post(f"/faq/{ENTRY}", data=posted)
        shown = await saved.text()
        assert saved.status == 200 and "已保存到 faq.yaml" in shown
    (kept,) = (folder / "images").iterdir()
    assert kept.read_bytes() == PNG and re.fullmatch(r"[0-9a-f]{20}\.png", kept.name)
    entry = load_faq(wbot.core.faq.path).get(ENTRY)
    assert entry is not None and entry.attachments == (f"images/{kept.name}",)
    assert f"上传附件 images/{kept.name}" in shown  # the history beside the form
    (edit,) = wbot.core.store.repo(FaqEdits).of_entry(ENTRY)
    assert edit["who"] == "fake:admin" and edit["via"] == "web"
    assert edit["uploaded"] == f"images/{kept.name}"
    (answer, *_) = await wbot.chat("zhang").say(QUESTION)
    assert answer.files == (str(folder / "images" / kept.name),)


async def test_a_new_entry_takes_a_pdf_and_an_empty_file_field_is_no_upload(wbot: Bot) -> None:
    folder = wbot.core.faq.path.parent
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), "zh-CN")
        plain = await client.post(f"/faq/{ENTRY}", data=multipart(entry_form(page), None))
        assert plain.status == 200 and not (folder / "images").exists()
        new = await (await client.get("/faq/_new")).text()
        form = {
            "csrf": csrf_of(new),
            "id": "pigeons",
            "category": "邻里",
            "questions": "小区里可以养鸽子吗",
            "answer": "见附件。",
        }
        saved = await client.post("/faq/_new", data=multipart(form, ("规定.pdf", PDF)))
        assert saved.status == 200
    (kept,) = (folder / "images").iterdir()
    entry = load_faq(wbot.core.faq.path).get("pigeons")
    assert entry is not None and entry.attachments == (f"images/{kept.name}",)
    assert kept.suffix == ".pdf" and kept.read_bytes() == PDF


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_a_bad_upload_is_refused_beside_the_field_and_nothing_is_written(
    wbot: Bot, lang: str
) -> None:
    t = Translator()
    folder = wbot.core.faq.path.parent
    before = wbot.core.faq.path.read_bytes()
    big = PNG + bytes(MAX_BYTES)
    cases = (
        (("big.png", big), t(lang, "web_error_upload_too_big", mb=5), 400),
        (("notes.png", "就是一段文字".encode()), t(lang, "web_error_upload_type"), 400),
        (("../../evil.png", PNG), t(lang, "web_error_upload_name", name="../../evil.png"), 400),
        (("images/x.png", PNG), t(lang, "web_error_upload_name", name="images/x.png"), 400),
        (("empty.png", b""), t(lang, "web_error_upload_empty", name="empty.png"), 400),
        (("huge.png", big * 2), t(lang, "web_error_upload_too_big", mb=5), 413),
    )
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), lang)
        for upload, line, status in cases:
            typed = entry_form(page, answer="这次带附件")
            refused = await client.post(f"/faq/{ENTRY}", data=multipart(typed, upload))
            shown = await refused.text()
            assert refused.status == status, upload[0]
            assert error_beside(shown, "upload") == line
            assert ("这次带附件" in shown) == (status == 400)  # unread when over the limit
    assert wbot.core.faq.path.read_bytes() == before
    assert not (folder / "images").exists()
    assert wbot.core.store.repo(FaqEdits).of_entry(ENTRY) == []


async def test_an_upload_with_an_edit_that_is_refused_is_not_kept(wbot: Bot) -> None:
    folder = wbot.core.faq.path.parent
    before = wbot.core.faq.path.read_bytes()
    async with console_client(wbot) as (console, client):
        page = await admin_editor(wbot, client, login_path(console, "fake:admin"), "zh-CN")
        typed = entry_form(page, answer="")
        refused = await client.post(f"/faq/{ENTRY}", data=multipart(typed, ("a.png", PNG)))
        assert refused.status == 400 and 'id="error-answer"' in await refused.text()
        stale = entry_form(page, answer="过时的版本") | {"version": "0" * 16}
        conflict = await client.post(f"/faq/{ENTRY}", data=multipart(stale, ("a.png", PNG)))
        assert conflict.status == 409
    assert wbot.core.faq.path.read_bytes() == before
    assert not (folder / "images").exists() or not any((folder / "images").iterdir())
