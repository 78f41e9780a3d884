"""A paged questionnaire answered page by page with plain form posts (no JavaScript): answers carried
signed between pages, kept going back and across a refused page, hidden answers ignored even if
posted, a page hidden by earlier answers skipped, and the receipt only after the last page."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from survey_app.questionnaires import versions
from survey_app.questionnaires.format import load_file
from tests.test_questionnaire_format import write
from tests.test_questionnaire_logic import LOGIC


@pytest.fixture
def paged(world, run, tmp_path: Path):
    q = load_file(write(tmp_path, LOGIC, "logic.yaml"))
    world.questionnaire_ids["logic"] = run(versions.register, q)
    campaign = world.campaign("logic", slug="logic-test")
    return world.tokens(campaign)[0]


def soup_of(r) -> BeautifulSoup:
    return BeautifulSoup(r.text, "html.parser")


def hidden(r) -> dict[str, str]:
    return {i["name"]: i.get("value", "") for i in soup_of(r).select("form input[type=hidden]")}


def progress(r) -> str:
    found = soup_of(r).select_one(".progress")
    return found.text if found else ""


def test_pages_forward_back_and_submit_without_javascript(client, world, paged):
    first = client.get(f"/q/{paged}")
    assert first.status_code == 200 and progress(first) == "第 1 页 / 共 3 页"
    assert "<script" not in first.text
    assert soup_of(first).select("input[name=used]") and not soup_of(first).select("input[name=overall]")
    assert [b.text for b in soup_of(first).select("form button")] == ["下一页"]

    second = client.post(f"/q/{paged}", data={**hidden(first), "used": "yes", "age": "40", "_nav": "next"})
    assert second.status_code == 200 and progress(second) == "第 2 页 / 共 3 页"
    assert soup_of(second).select("input[name=overall]") and not soup_of(second).select("input[name=used]")
    assert [b.text for b in soup_of(second).select("form button")] == ["下一页", "上一页"]

    # Forward with a required answer missing: refused, this page again, every answer kept.
    refused = client.post(f"/q/{paged}", data={**hidden(second), "_nav": "next"})
    assert refused.status_code == 422 and progress(refused) == "第 2 页 / 共 3 页"
    assert soup_of(refused).select_one("#e-overall").text == "请给服务打个分。"
    back = client.post(f"/q/{paged}", data={**hidden(refused), "overall": "2", "_nav": "back"})
    assert back.status_code == 200 and progress(back) == "第 1 页 / 共 3 页"
    assert soup_of(back).select_one("input[name=used][value=yes]").has_attr("checked")
    assert soup_of(back).select_one("input[name=age]")["value"] == "40"

    again = client.post(f"/q/{paged}", data={**hidden(back), "used": "yes", "age": "40", "_nav": "next"})
    assert soup_of(again).select_one("input[name=overall][value='2']").has_attr("checked")  # kept going back
    third = client.post(f"/q/{paged}", data={**hidden(again), "overall": "2", "reasons": ["slow"], "_nav": "next"})
    assert progress(third) == "第 3 页 / 共 3 页"
    assert [b.text for b in soup_of(third).select("form button")] == ["提交", "上一页"]
    assert world.responses() == []  # nothing saved before the last page

    done = client.post(f"/q/{paged}", data={**hidden(third), "phone_ok": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and "/thanks?r=" in done.headers["location"]
    [saved] = world.responses()
    assert saved["answers"] == {"used": True, "age": 40, "overall": 2, "reasons": ["slow"], "phone_ok": True}


def test_a_page_hidden_by_earlier_answers_is_skipped_and_its_posted_answers_ignored(client, world, paged):
    first = client.get(f"/q/{paged}")
    last = client.post(f"/q/{paged}", data={**hidden(first), "used": "no", "_nav": "next"})
    assert progress(last) == "第 2 页 / 共 2 页" and soup_of(last).select("input[name=phone_ok]")
    back = client.post(f"/q/{paged}", data={**hidden(last), "_nav": "back"})
    assert progress(back) == "第 1 页 / 共 2 页"
    # A crafted post carrying answers of the skipped page: they are not answers.
    data = {**hidden(last), "phone_ok": "no", "overall": "1", "reasons": ["rude"], "detail": "很差"}
    assert client.post(f"/q/{paged}", data=data, follow_redirects=False).status_code == 303
    assert world.responses()[0]["answers"] == {"used": False, "phone_ok": False}


def test_carried_answers_with_a_broken_signature_are_dropped(client, world, paged):
    first = client.get(f"/q/{paged}")
    second = client.post(f"/q/{paged}", data={**hidden(first), "used": "yes", "_nav": "next"})
    fields = hidden(second)
    body, _, signature = fields["_carried"].partition(".")
    forged = {**fields, "_carried": f"{body}.{'0' * len(signature)}", "overall": "5"}
    r = client.post(f"/q/{paged}", data=forged, follow_redirects=False)
    # `used` was not carried: the final check sends the resident to the first page, answers kept.
    assert r.status_code == 422 and progress(r).startswith("第 1 页")
    assert soup_of(r).select_one("#e-used") is not None
    assert world.responses() == []


def test_errors_found_at_the_end_show_the_page_they_are_on(client, world, paged):
    first = client.get(f"/q/{paged}")
    # Submitting (no _nav) from the first page: the required rating on page 2 is missing.
    r = client.post(f"/q/{paged}", data={**hidden(first), "used": "yes"})
    assert r.status_code == 422 and progress(r) == "第 2 页 / 共 3 页"
    assert soup_of(r).select_one("#fix-these a")["href"] == "#q-overall"


def test_a_one_page_form_has_no_pages(client, world):
    r = client.get(f"/q/{world.token_a}")
    assert progress(r) == "" and "_page" not in hidden(r)


def test_the_community_form_is_one_page_whose_service_block_a_non_user_skips(client, world):
    token = world.tokens(world.campaign("community-services", slug="one-page-community"))[0]
    url = f"/q/{token}"
    first = client.get(url)
    assert progress(first) == "" and soup_of(first).select("input[name=legal_advice]")  # one page, sections
    # A resident who has used no service answers without the thirteen ratings; any posted are ignored.
    done = client.post(
        url, data={**hidden(first), "used": "no", "mediation": "5", "overall": "4"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert world.responses()[0]["answers"] == {"used": False, "overall": 4}
    # One who has used them must rate them.
    client.cookies.clear()
    again = client.get(url)
    refused = client.post(url, data={**hidden(again), "used": "yes", "overall": "4"})
    assert refused.status_code == 422 and soup_of(refused).select_one("#e-legal_advice") is not None


def test_randomised_options_keep_their_order_when_the_form_comes_back(client, world, run, tmp_path: Path):
    from tests.test_questionnaire_logic import OTHER

    q = load_file(write(tmp_path, OTHER, "other.yaml"))
    world.questionnaire_ids["other"] = run(versions.register, q)
    token = world.tokens(world.campaign("other", slug="other-test"))[0]

    def order(r) -> list[str]:
        return [i["value"] for i in soup_of(r).select("input[name=reasons]")]

    first = client.get(f"/q/{token}")
    orders = {tuple(order(client.get(f"/q/{token}"))) for _ in range(8)}
    assert len(orders) > 1  # each new form (a new submission id) has its own order
    again = client.post(f"/q/{token}", data={**hidden(first), "reasons": ["other"]})  # the specify text is missing
    assert again.status_code == 422 and order(again) == order(first)
    assert soup_of(again).select_one("#e-reasons_other") is not None
    done = client.post(
        f"/q/{token}", data={**hidden(again), "reasons": ["other"], "reasons_other": "停车难"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert world.responses()[0]["answers"] == {"reasons": ["other"], "reasons_other": "停车难"}


@pytest.mark.parametrize("slug", ["safe-community", "urban-village", "department-conduct"])
def test_every_page_of_each_paged_bundled_form_is_light(client, world, slug):
    from urllib.parse import urljoin

    from survey_app.questionnaires.format import load_directory
    from survey_app.settings import QUESTIONNAIRES_DIR
    from tests.test_public import MAX_PAGE_BYTES

    q = next(q for q in load_directory(QUESTIONNAIRES_DIR) if q.slug == slug)
    token = world.tokens(world.campaign(slug, slug=f"pages-{slug}"))[0]
    url = f"http://testserver.local/q/{token}"

    def weight(r) -> int:
        soup = soup_of(r)
        refs = [t.get("href") for t in soup.find_all("link")] + [t.get("src") for t in soup.find_all(["script", "img"])]
        return len(r.content) + sum(len(client.get(urljoin(url, ref)).content) for ref in refs if ref)

    def first_answers(r) -> dict[str, str]:  # the first choice of every question on the page
        answers: dict[str, str] = {}
        for box in soup_of(r).select("form input[type=radio], form input[type=checkbox]"):
            answers.setdefault(box["name"], box["value"])
        return answers

    page, sizes = client.get(url), []
    for _ in range(len(q.pages())):
        sizes.append(weight(page))
        if progress(page).startswith(f"第 {len(q.pages())} 页"):
            break
        page = client.post(url, data={**hidden(page), **first_answers(page), "_nav": "next"})
        assert page.status_code == 200
    assert len(sizes) == len(q.pages()) == 4 and max(sizes) <= MAX_PAGE_BYTES
    print(f"{slug} page bytes with everything loaded:", sizes)


@pytest.mark.parametrize(
    "carried", ["ü.ü", "é" * 40 + "." + "0" * 32, "....", "%%%", "A" * 5000 + ".x", "e30.", "\x00"]
)
def test_any_carried_text_is_read_as_a_value_or_dropped_never_a_500(client, world, paged, carried):
    first = client.get(f"/q/{paged}")
    r = client.post(f"/q/{paged}", data={**hidden(first), "_carried": carried, "_page": "²", "_nav": "next"})
    assert r.status_code in (200, 422)
