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


def test_an_answer_saved_while_streaming_comes_once_at_the_end(run, world, monkeypatch):
    """Pages follow the ids (not an OFFSET): an answer saved between two pages is neither skipped nor
    doubled, and nothing is reread."""
    answer_randomly(run, world, 9)
    monkeypatch.setattr(web_exports, "CSV_PAGE", 4)
    q = run(versions.get, run(lambda: world_questionnaire(world)))

    async def streamed() -> bytes:
        chunks = []
        async for chunk in web_exports.csv_pages(world.campaign_id, q, None, "zh"):
            if not chunks:  # between the first page and the second
                token = FormToken(submission_id=uuid.uuid4().hex, issued_at=0)
                await responses.record(
                    campaign_id=world.campaign_id, unit_id=world.unit_a, link_id=None, token=token, answers={}
                )
            chunks.append(chunk)
        return b"".join(chunks)

    got = run(streamed)
    assert got == whole_csv(run, world)
    assert got.count(b"\r\n") == 11  # header + 9 + the one saved meanwhile


def test_a_campaign_without_answers_streams_its_header(client, staff, run, world):
    staff.as_role(Role.admin)
    download = client.get(f"/staff/campaigns/{SLUG}/responses.csv")
    assert download.content == whole_csv(run, world) and download.content.count(b"\r\n") == 1
