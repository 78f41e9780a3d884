"""responses.csv is streamed a page at a time (issue 17, item 2): the same bytes as the whole table written
at once, over the page boundaries, and a row seen twice when pages shift is written once."""

from __future__ import annotations

import random
import uuid

from survey_app import responses
from survey_app.questionnaires import versions
from survey_app.reporting import exports
from survey_app.responses import FormToken
from survey_app.tables import Role
from survey_app.web import exports as web_exports

SLUG = "window-rating-test"


def answer_randomly(run, world, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        answers = {"overall": rng.choice([1, 2, 3, 4, 5, "dk"]), "comment": rng.choice(["", "=1+1", "好"])}
        answers = {k: v for k, v in answers.items() if v != ""}
        token = FormToken(submission_id=uuid.uuid4().hex, issued_at=0)
        unit = rng.choice([world.unit_a, world.unit_b])
        run(responses.record, campaign_id=world.campaign_id, unit_id=unit, link_id=None, token=token, answers=answers)


def whole_csv(run, world) -> bytes:
    q = run(versions.get, run(lambda: world_questionnaire(world)))
    return exports.to_csv(exports.response_table(q, run(exports.response_records, world.campaign_id, q, None, "zh")))


async def world_questionnaire(world) -> int:
    from survey_app import campaigns

    info = await campaigns.by_slug(SLUG)
    assert info is not None
    return info.questionnaire_id


def test_streamed_csv_is_the_whole_csv_across_pages(client, staff, run, world, monkeypatch):
    answer_randomly(run, world, 11)
    monkeypatch.setattr(web_exports, "CSV_PAGE", 4)  # pages of 4, 4, 3
    staff.as_role(Role.admin)
    download = client.get(f"/staff/campaigns/{SLUG}/responses.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["cache-control"] == "no-store"
    assert f'filename="{SLUG}-responses.csv"' in download.headers["content-disposition"]
    assert download.content == whole_csv(run, world)
    assert download.content.count(b"\r\n") == 12  # header + 11 rows


def test_a_page_that_shifted_does_not_repeat_a_row(run, world, monkeypatch):
    answer_randomly(run, world, 9)
    real = exports.response_records

    async def shifted(*args, offset: int = 0, limit: int | None = None, **kwargs):
        # As if a row had been committed behind the first page: every later page starts one row early.
        return await real(*args, offset=max(0, offset - 1) if offset else 0, limit=limit, **kwargs)

    monkeypatch.setattr(web_exports, "CSV_PAGE", 4)
    monkeypatch.setattr(exports, "response_records", shifted)
    q = run(versions.get, run(lambda: world_questionnaire(world)))

    async def streamed() -> bytes:
        return b"".join([chunk async for chunk in web_exports.csv_pages(world.campaign_id, q, None, "zh")])

    monkeypatch.setattr(exports, "response_records", real)
    whole = whole_csv(run, world)
    monkeypatch.setattr(exports, "response_records", shifted)
    assert run(streamed) == whole
