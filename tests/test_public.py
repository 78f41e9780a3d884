"""The resident's page: render, submit, errors with answers kept, link states, language, weight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

from survey_app import responses
from survey_app.tables import CampaignStatus, Link
from survey_app.web import forms

# The bar in the brief: the form page with everything it loads.
MAX_PAGE_BYTES = 30 * 1024


def form_fields(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}


def answer_every_page(client, url: str, answers: dict, first=None):
    """Post `answers` page by page (a paged form takes only its page's fields from each post) and
    submit on the last page; the answer to the final post (a 303 to the thank-you page when saved)."""
    page = first or client.get(url)
    while True:
        more = BeautifulSoup(page.text, "html.parser").select_one("form button[name=_nav][value=next]")
        data = {**form_fields(page.text), **answers, **({"_nav": "next"} if more else {})}
        page = client.post(url, data=data, follow_redirects=False)
        if not more or page.status_code != 200:
            return page


def valid_answers(html: str, **overrides: str | list[str]) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {**form_fields(html), "overall": "4", "efficiency": "5", "level": "dk"}
    data.update(overrides)
    return data


def test_form_shows_unit_campaign_privacy_and_labelled_questions(client, world):
    r = client.get(f"/q/{world.token_a}")
    assert r.status_code == 200
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.html["lang"] == "zh-CN"
    assert "大洋社区" in soup.select_one(".unit").text
    assert soup.h1.text == "窗口服务评价"
    assert "匿名" in r.text
    radios = soup.select("input[type=radio][name=overall]")
    assert [i["value"] for i in radios] == ["5", "4", "3", "2", "1"]
    # Every input sits inside its <label>, so the whole row is a tap target.
    assert all(i.find_parent("label") is not None for i in radios)
    assert [i["value"] for i in soup.select("input[name=efficiency]")][-1] == "dk"
    assert soup.select_one("input[name=_form]")["value"].count(".") == 2


def test_valid_submission_is_saved_and_gets_a_receipt(client, world):
    form = client.get(f"/q/{world.token_a}").text
    r = client.post(f"/q/{world.token_a}", data=valid_answers(form), follow_redirects=False)
    assert r.status_code == 303
    thanks = client.get(r.headers["location"])
    assert thanks.status_code == 200
    receipt = BeautifulSoup(thanks.text, "html.parser").select_one(".receipt").text
    [saved] = world.responses()
    assert saved["receipt"] == receipt
    assert saved["answers"] == {"overall": 4, "efficiency": 5, "level": "dk"}
    assert saved["unit"] == world.unit_a and saved["channel"] == "qr"
    assert saved["submission_id"] == form_fields(form)["_form"].split(".")[0]
    assert 0 <= saved["duration_s"] < 60


def test_invalid_submission_shows_messages_and_keeps_every_answer(client, world):
    form = client.get(f"/q/{world.token_a}").text
    data = valid_answers(form, overall="", efficiency="9", level="dk")
    r = client.post(f"/q/{world.token_a}", data=data)
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#e-overall").text == "请回答此题。"
    assert soup.select_one("#e-efficiency").text == "请从列出的选项中选择。"
    assert soup.select_one("input[name=level][value=dk]").has_attr("checked")
    # The same form token is reused, so fixing and resending is still one submission.
    assert form_fields(r.text)["_form"] == data["_form"]
    assert world.responses() == []


def test_comment_on_a_bad_rating_is_kept_and_a_hidden_one_dropped(client, world):
    form = client.get(f"/q/{world.token_a}").text
    client.post(
        f"/q/{world.token_a}", data=valid_answers(form, overall="1", reasons=["wait", "attitude"], comment="排队两小时")
    )
    form = client.get(f"/q/{world.token_a}").text
    client.post(f"/q/{world.token_a}", data=valid_answers(form, overall="5", reasons="wait", comment="不该保存"))
    bad, good = world.responses()
    assert bad["answers"]["reasons"] == ["wait", "attitude"] and bad["answers"]["comment"] == "排队两小时"
    assert "reasons" not in good["answers"] and "comment" not in good["answers"]


def test_conditional_questions_are_hidden_by_css_not_javascript(client, world):
    r = client.get(f"/q/{world.token_a}")
    style = BeautifulSoup(r.text, "html.parser").style.text
    assert 'form:not(:has([name="overall"][value="2"]:checked,[name="overall"][value="1"]:checked)) #q-reasons' in style
    assert "<script" not in r.text


def test_resending_the_same_submission_saves_it_once(client, world):
    data = valid_answers(client.get(f"/q/{world.token_a}").text)
    first = client.post(f"/q/{world.token_a}", data=data, follow_redirects=False)
    second = client.post(f"/q/{world.token_a}", data=data, follow_redirects=False)
    assert first.headers["location"].split("&t=")[0] == second.headers["location"].split("&t=")[0]  # one receipt
    assert len(world.responses()) == 1


def test_same_submission_with_other_answers_is_refused(client, world):
    data = valid_answers(client.get(f"/q/{world.token_a}").text)
    client.post(f"/q/{world.token_a}", data=data)
    r = client.post(f"/q/{world.token_a}", data={**data, "overall": "1"})
    assert r.status_code == 409
    assert "已经提交" in r.text
    assert [x["answers"]["overall"] for x in world.responses()] == [4]


@pytest.mark.parametrize("token_value", ["", "garbage", "0" * 32 + ".1.abc"])
def test_missing_or_forged_form_token_keeps_answers_and_asks_again(client, world, token_value):
    data = valid_answers(client.get(f"/q/{world.token_a}").text, _form=token_value)
    r = client.post(f"/q/{world.token_a}", data=data)
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert "页面已过期" in soup.select_one(".notice").text
    assert soup.select_one("input[name=overall][value='4']").has_attr("checked")
    assert responses.read_form_token(world.token_a, form_fields(r.text)["_form"]) is not None
    assert world.responses() == []


def test_form_token_of_another_link_is_not_accepted(client, world):
    other = form_fields(client.get(f"/q/{world.token_b}").text)["_form"]
    assert responses.read_form_token(world.token_a, other) is None


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"status": CampaignStatus.closed}, 410, "本次评议已结束"),
        ({"closes": -1}, 410, "本次评议已结束"),
        ({"status": CampaignStatus.draft}, 403, "尚未开始"),
        ({"opens": 2}, 403, "尚未开始"),
    ],
)
def test_link_outside_its_campaign_period_gets_a_friendly_page(client, world, change, status, text):
    now = datetime.now(UTC)
    campaign_id = world.campaign(
        "window-rating",
        slug="other",
        status=change.get("status", CampaignStatus.open),
        opens_at=now + timedelta(days=change["opens"]) if "opens" in change else now - timedelta(days=5),
        closes_at=now + timedelta(days=change["closes"]) if "closes" in change else now + timedelta(days=5),
    )
    token = world.tokens(campaign_id)[0]
    assert client.get(f"/q/{token}").status_code == status
    r = client.post(f"/q/{token}", data={"overall": "5"})
    assert r.status_code == status and text in r.text
    assert world.responses() == []


def test_revoked_link_is_gone(client, world, run):
    async def revoke() -> None:
        await Link.update({Link.revoked_at: datetime.now(UTC)}).where(Link.token == world.token_a)

    run(revoke)
    r = client.get(f"/q/{world.token_a}")
    assert r.status_code == 410 and "已停用" in r.text


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 24, "a" * 200])
def test_unknown_token_is_404_with_a_friendly_page(client, world, token):
    r = client.get(f"/q/{token}")
    assert r.status_code == 404
    assert "二维码" in r.text


def test_english_on_request_and_remembered(client, world):
    r = client.get(f"/lang/en?next=/q/{world.token_a}")
    assert r.status_code == 200  # followed the redirect back to the form
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.html["lang"] == "en"
    assert soup.h1.text == "Window rating"
    assert "Very satisfied" in r.text and "Submit" in r.text
    assert client.get(f"/q/{world.token_a}?lang=zh").text.count("非常满意") >= 1


def test_language_switch_does_not_redirect_off_site(client):
    r = client.get("/lang/en?next=//evil.example/x", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_thanks_page_needs_a_real_receipt(client, world):
    assert client.get(f"/q/{world.token_a}/thanks?r=ABCDEFGH").status_code == 404


@pytest.mark.parametrize(
    "questionnaire", ["community-services", "safe-community", "urban-village", "department-conduct", "window-rating"]
)
def test_form_page_is_light_and_self_contained(client, world, questionnaire):
    token = world.tokens(world.campaign(questionnaire, slug=f"weight-{questionnaire}"))[0]
    url = f"http://testserver.local/q/{token}"
    r = client.get(url)
    soup = BeautifulSoup(r.text, "html.parser")
    refs = [t.get("href") for t in soup.find_all("link")] + [t.get("src") for t in soup.find_all(["script", "img"])]
    refs = [urljoin(url, ref) for ref in refs if ref]
    assert all(urlparse(ref).netloc == "testserver.local" for ref in refs)
    total = len(r.content) + sum(len(client.get(ref).content) for ref in refs)
    assert total <= MAX_PAGE_BYTES


def test_control_characters_are_removed_from_text_answers(client, world):
    data = valid_answers(client.get(f"/q/{world.token_a}").text, overall="1", comment="排队\x00两小时\r\n第二行\x07")
    assert client.post(f"/q/{world.token_a}", data=data, follow_redirects=False).status_code == 303
    assert world.responses()[0]["answers"]["comment"] == "排队两小时\n第二行"


def test_overlong_comment_is_kept_with_a_message(client, world):
    data = valid_answers(client.get(f"/q/{world.token_a}").text, overall="2", comment="慢" * 2001)
    r = client.post(f"/q/{world.token_a}", data=data)
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#e-comment").text == "最多 2000 个字，现在是 2001 个字。"
    assert soup.select_one("textarea[name=comment]").text == "慢" * 2001


def test_oversized_body_is_refused_before_parsing(client, world):
    r = client.post(
        f"/q/{world.token_a}",
        content=b"comment=" + b"a" * 600_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and "太大" in r.text
    assert world.responses() == []


def test_form_page_is_sent_compressed_to_browsers_that_accept_it(client, world):
    r = client.get(f"/q/{world.token_a}", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(r.content) / 2  # what travels vs what is shown
    assert (
        client.get(f"/q/{world.token_a}/qr.png", headers={"accept-encoding": "gzip"}).headers.get("content-encoding")
        is None
    )


def test_a_blank_forms_questions_are_rendered_once_per_language_and_answers_always_shown(client, world, monkeypatch):
    question_list = client.app.template_engine.engine.globals["question_list"]
    rendered: list[tuple[str, bool]] = []
    render = question_list._render

    def counting(q, raw, errors, hints, view):
        rendered.append((q.slug, bool(errors)))
        return render(q, raw, errors, hints, view)

    monkeypatch.setattr(question_list, "_render", counting)
    question_list._blank.clear()
    tokens = (world.token_a, world.token_b)
    pages = [client.get(f"/q/{token}{lang}").text for lang in ("", "?lang=en") for token in tokens]
    assert rendered == [("window-rating", False), ("window-rating", False)]  # Chinese once, English once
    assert len(BeautifulSoup(pages[1], "html.parser").select("input[name=overall]")) == 5
    assert BeautifulSoup(pages[2], "html.parser").select_one("legend").text.startswith("1. ")
    assert "（必答）" in pages[0] and "(required)" in pages[2]
    # A form shown again with errors is rendered with what was posted, never from the blank copy.
    r = client.post(f"/q/{world.token_a}", data=valid_answers(pages[0], overall="", level="dk"))
    assert rendered[-1] == ("window-rating", True)
    assert BeautifulSoup(r.text, "html.parser").select_one("input[name=level][value=dk]").has_attr("checked")
    blank = BeautifulSoup(client.get(f"/q/{world.token_a}").text, "html.parser")
    assert not blank.select("input[checked]") and not blank.select(".err")


def test_a_blank_form_page_is_rendered_once_and_filled_in_with_each_requests_token_and_nonce(client, run, world):
    from survey_app.tables import Unit

    renders: list[str] = []
    original = forms.BLANK_FORMS._render

    def counting(request, link, questionnaire):
        renders.append(link.unit_name)
        return original(request, link, questionnaire)

    forms.BLANK_FORMS._pages.clear()
    forms.BLANK_FORMS._render = counting  # type: ignore[method-assign]
    try:
        first, second = client.get(f"/q/{world.token_a}"), client.get(f"/q/{world.token_a}")
        assert renders == ["大洋社区"]
        tokens = [form_fields(r.text)["_form"] for r in (first, second)]
        assert tokens[0] != tokens[1] and all(responses.read_form_token(world.token_a, t) for t in tokens)
        for r in (first, second):
            nonce = BeautifulSoup(r.text, "html.parser").style["nonce"]
            assert f"'nonce-{nonce}'" in r.headers["content-security-policy"]
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert "minpingformtoken" not in r.text and "minpingnonce" not in r.text
        # Anything the page shows is part of the key: a renamed unit is rendered anew at once.
        run(lambda: Unit.update({Unit.name: "大洋新社区"}).where(Unit.id == world.unit_a))
        assert "大洋新社区" in client.get(f"/q/{world.token_a}").text and renders[-1] == "大洋新社区"
        # A typed-in invitation code is the resident's own page, never cached.
        assert 'value="ABC123"' not in client.get(f"/q/{world.token_a}?code=ABC123").text  # not invitation-only
        assert len(renders) == 2
    finally:
        forms.BLANK_FORMS._render = original  # type: ignore[method-assign]
    # The cached page is the page the template gives: the form posts and saves as before.
    r = client.post(f"/q/{world.token_a}", data=valid_answers(second.text), follow_redirects=False)
    assert r.status_code == 303 and len(world.responses()) == 1
