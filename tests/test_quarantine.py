"""Fraud flags and quarantine: which responses are flagged, that the direction of a rating never
matters, and that a pass moves only counted responses (audited, nothing deleted)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from survey_app import audit, quarantine, responses
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import DONT_KNOW, Questionnaire, load_file
from survey_app.responses import FormToken
from survey_app.settings import QUESTIONNAIRES_DIR
from survey_app.tables import Channel, Response, ResponseStatus, Role
from tests.conftest import csrf_token

START = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)  # 08:00 in Lishui


def mirrored(q: Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Every rating v → max + min − v of its scale; everything else as it was."""
    out = dict(answers)
    for item in q.rating_items():
        value = answers.get(item.id)
        if value is not None and value != DONT_KNOW:
            values = [level.value for level in q.scales[item.scale or ""].levels]
            out[item.id] = max(values) + min(values) - value
    return out


def synthetic_rows(seed: int = 7) -> tuple[Questionnaire, list[dict[str, Any]], dict[str, set[int]]]:
    """300 honest QR answers over 10 days on 5 links, plus one case of each signal; returns the
    rows and, per signal, the ids injected for it."""
    q = load_file(QUESTIONNAIRES_DIR / "community-services.yaml")
    items = q.rating_items()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    injected: dict[str, set[int]] = {}

    def add(channel=Channel.qr, *, t, answers, duration=None, link=0, unit=1, device=None, worker=None, tag=None):
        rows.append(
            {
                "id": len(rows) + 1,
                "unit": unit,
                "link": link,
                "channel": channel,
                "answers": answers,
                "submitted_at": START + timedelta(seconds=float(t)),
                "duration_s": duration,
                "device_hash": device,
                "entered_by": worker,
            }
        )
        if tag:
            injected.setdefault(tag, set()).add(len(rows))

    def honest() -> dict[str, Any]:
        mood = rng.normal()
        return {i.id: int(np.clip(round(3.8 + mood + rng.normal(0, 0.9)), 1, 5)) for i in items}

    for n in range(300):
        add(
            t=rng.uniform(0, 10 * 86400),
            answers=honest(),
            duration=float(rng.lognormal(np.log(150), 0.4)),
            link=n % 5,
            unit=n % 5,
            device=f"d{n}",
        )
    burst_start = 5 * 86400 + 3600
    for n in range(25):  # a burst on link 2: mixed ratings, ordinary speed
        add(t=burst_start + n * 20, answers=honest(), duration=120.0, link=2, unit=2, tag="burst")
    for level in (5, 1):  # fast straight-liners, one praising and one damning
        add(t=3 * 86400 + level, answers=dict.fromkeys([i.id for i in items], level), duration=12.0, tag="straight")
    clone = honest()
    for n in range(2):  # fast clones
        add(t=4 * 86400 + n * 7200, answers=dict(clone), duration=10.0, link=3, unit=3, tag="clone")
    for unit in (1, 2, 3):  # one device, three units
        add(
            t=2 * 86400 + unit * 5000, answers=honest(), duration=140.0, link=unit, unit=unit, device="dx", tag="device"
        )
    add(Channel.interviewer, t=15 * 3600, answers=honest(), duration=400.0, worker=9, tag="night")  # 23:00 local
    for n in range(13):  # 13 interviews in 52 minutes by worker 8, in the afternoon
        add(
            Channel.interviewer,
            t=6 * 86400 + 6 * 3600 + n * 240,
            answers=honest(),
            duration=300.0,
            worker=8,
            tag="rate",
        )
    for n in range(30):  # 30 paper sheets keyed in an hour: an ordinary keying session
        add(Channel.paper, t=7 * 86400 + 3600 + n * 110, answers=honest(), duration=90.0, worker=8)
    return q, rows, injected


def test_each_signal_flags_what_it_describes():
    q, rows, injected = synthetic_rows()
    flags = quarantine.compute_flags(q, rows)
    assert all("burst" in flags[i] for i in injected["burst"])
    assert all({"speeder", "straight_line"} <= set(flags[i]) for i in injected["straight"])
    assert all({"speeder", "clone"} <= set(flags[i]) for i in injected["clone"])
    assert all("device_units" in flags[i] for i in injected["device"])
    assert all(flags[i] == ("night_entry",) for i in injected["night"])
    assert all(flags[i] == ("entry_rate",) for i in injected["rate"])
    honest = set(range(1, 301)) | {r["id"] for r in rows if r["channel"] == Channel.paper}
    assert len(honest & set(flags)) <= 3, sorted(honest & set(flags))  # ≤ 1 % false positives
    assert set().union(*flags.values()) <= set(quarantine.FLAG_TEXT)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_mirroring_every_rating_flags_the_same_responses(seed):
    """A filter that looked at the direction of ratings could suppress bad ones (threat T20)."""
    q, rows, _ = synthetic_rows(seed)
    before = quarantine.compute_flags(q, rows)
    after = quarantine.compute_flags(q, [r | {"answers": mirrored(q, r["answers"])} for r in rows])
    assert before and after == before


# --- through the database -------------------------------------------------------------------


def answer(run, world, *, at: datetime, duration: float, answers: dict, unit=None, link=None, device=None) -> None:
    token = FormToken(submission_id=uuid.uuid4().hex, issued_at=at.timestamp() - duration)
    run(
        responses.record,
        campaign_id=world.campaign_id,
        unit_id=unit or world.unit_a,
        link_id=link,
        token=token,
        answers=answers,
        now=at,
    )


def link_ids(run, world) -> list[int]:
    async def fetch():
        from survey_app.tables import Link

        return [r["id"] for r in await Link.select(Link.id).where(Link.campaign == world.campaign_id).order_by(Link.id)]

    return run(fetch)


def set_status(run, response_id: int, status: ResponseStatus) -> None:
    run(Response.update({Response.status: status}).where(Response.id == response_id).run)


@pytest.fixture
def stuffed(run, world):
    """Window ratings: 60 honest answers over 20 days on two links, and 20 stuffed within 5 minutes on link A."""
    rng = np.random.default_rng(3)
    link_a, link_b = link_ids(run, world)
    for n in range(60):
        at = START + timedelta(seconds=float(rng.uniform(0, 20 * 86400)))
        overall = int(rng.integers(1, 6))
        unit, link = (world.unit_a, link_a) if n % 2 else (world.unit_b, link_b)
        answer(
            run,
            world,
            at=at,
            duration=float(rng.lognormal(np.log(90), 0.4)),
            answers={"overall": overall},
            unit=unit,
            link=link,
        )
    for n in range(20):
        at = START + timedelta(days=9, seconds=15 * n)
        answer(run, world, at=at, duration=20.0, answers={"overall": 1 + n % 5, "attitude": 2}, link=link_a)
    return world.responses()


def test_a_pass_quarantines_the_burst_and_audits_each_move(run, world, stuffed):
    stuffed_ids = {r["id"] for r in stuffed[60:]}
    reviewed = stuffed[61]["id"]
    set_status(run, reviewed, ResponseStatus.excluded)  # decided by an assessor already: left alone
    result = run(quarantine.flag_campaign, "window-rating-test")
    rows = {r["id"]: r for r in world.responses()}
    quarantined = {i for i, r in rows.items() if r["status"] == ResponseStatus.quarantined}
    assert len(quarantined & stuffed_ids) >= 0.95 * 19 and len(quarantined - stuffed_ids) <= 1
    assert reviewed not in quarantined and rows[reviewed]["status"] == ResponseStatus.excluded
    assert all(rows[i]["flags"] == ["burst"] for i in quarantined)
    assert (result.checked, result.quarantined) == (80, len(quarantined))
    entries = [e for e in run(audit.recent, 500) if e["action"] == "response.quarantine"]
    assert {int(e["object_id"]) for e in entries} == quarantined and {e["actor"] for e in entries} == {"system"}
    assert entries[0]["after"]["flags"] == ["burst"] and entries[0]["before"] == {"status": "counted"}
    assert run(audit.verify).ok
    again = run(quarantine.flag_campaign, "window-rating-test")
    assert again.quarantined == 0 and len(world.responses()) == 80  # nothing moved twice, nothing deleted


def test_mirrored_answers_in_the_database_flag_the_same_responses(run, world, stuffed):
    q = run(versions.get, run(world_questionnaire, world))
    before = quarantine.compute_flags(q, run(quarantine.signal_rows, world.campaign_id))

    async def mirror_all() -> None:
        for row in await Response.select(Response.id, Response.answers).output(load_json=True):
            await Response.update({Response.answers: mirrored(q, row["answers"])}).where(Response.id == row["id"])

    run(mirror_all)
    assert quarantine.compute_flags(q, run(quarantine.signal_rows, world.campaign_id)) == before != {}


async def world_questionnaire(world) -> int:
    from survey_app.tables import Campaign

    row = await Campaign.select(Campaign.questionnaire).where(Campaign.id == world.campaign_id).first()
    return row["questionnaire"]


def test_superseded_responses_are_never_looked_at_or_moved(run, world, stuffed):
    superseded = stuffed[70]["id"]
    set_status(run, superseded, ResponseStatus.superseded)
    run(quarantine.flag_campaign, "window-rating-test")
    row = next(r for r in world.responses() if r["id"] == superseded)
    assert row["status"] == ResponseStatus.superseded and row["flags"] == []
    assert superseded not in {r["id"] for r in run(quarantine.signal_rows, world.campaign_id)}


def test_active_campaigns_are_open_or_recently_closed(run, world):
    from survey_app.tables import CampaignStatus

    now = datetime.now(UTC)
    world.campaign(
        "safe-community",
        slug="closed-long-ago",
        status=CampaignStatus.closed,
        opens_at=now - timedelta(days=90),
        closes_at=now - timedelta(days=60),
    )
    world.campaign(
        "urban-village",
        slug="closed-last-week",
        status=CampaignStatus.closed,
        opens_at=now - timedelta(days=30),
        closes_at=now - timedelta(days=7),
    )
    world.campaign("department-conduct", slug="draft", status=CampaignStatus.draft)
    assert run(quarantine.active_campaigns) == ["window-rating-test", "closed-last-week"]


def test_flags_command(cli, run, world, stuffed):
    done = cli("flags", "window-rating-test")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("window-rating-test: 80 responses checked, ")
    assert "newly quarantined" in done.stdout
    again = cli("flags", "window-rating-test")
    assert again.stdout.rstrip().endswith(" 0 newly quarantined")
    missing = cli("flags", "nope")
    assert missing.returncode == 1 and missing.stderr == "Error: no campaign 'nope'\n"


# --- review pages ---------------------------------------------------------------------------


@pytest.fixture
def flagged(run, world, stuffed):
    run(quarantine.flag_campaign, "window-rating-test")
    return [r for r in world.responses() if r["status"] == ResponseStatus.quarantined]


def test_assessor_reviews_with_a_reason_and_may_decide_again(run, world, client, staff, flagged):
    staff.as_role(Role.assessor)
    listing = client.get("/staff/quarantine")
    assert listing.status_code == 200 and f"/staff/quarantine/{flagged[0]['id']}" in listing.text
    assert "集中提交" in listing.text
    assert f"/staff/quarantine/{flagged[0]['id']}" not in client.get("/staff/quarantine?campaign=other").text
    page = client.get(f"/staff/quarantine/{flagged[0]['id']}")
    assert "这个二维码在 10 分钟内收到的答卷远多于平时" in page.text
    assert "Burst" in client.get(f"/staff/quarantine/{flagged[0]['id']}?lang=en").text
    token = csrf_token(page.text)
    url = f"/staff/quarantine/{flagged[0]['id']}"
    refused = client.post(url, data={"_csrf_token": token, "decision": "exclude", "reason": "  "})
    assert refused.status_code == 422 and "请写明理由" in refused.text
    assert client.post(url, data={"decision": "exclude", "reason": "x"}).status_code == 403  # no CSRF token
    exclusion = {"_csrf_token": token, "decision": "exclude", "reason": "同一时段集中刷票"}
    asked = client.post(url, data=exclusion, follow_redirects=False)  # excluding asks first, and changes nothing
    assert asked.status_code == 200 and "确认排除" in asked.text and "同一时段集中刷票" in asked.text
    assert next(r for r in world.responses() if r["id"] == flagged[0]["id"])["status"] == ResponseStatus.quarantined
    done = client.post(url, data={**exclusion, "_confirmed": "yes"}, follow_redirects=False)
    assert done.status_code == 303
    again = client.post(
        url,
        data={"_csrf_token": token, "decision": "include", "reason": "经回访确认为真实居民"},
        follow_redirects=False,
    )
    assert again.status_code == 303
    row = next(r for r in world.responses() if r["id"] == flagged[0]["id"])
    assert row["status"] == ResponseStatus.included and row["review_reason"] == "经回访确认为真实居民"
    assert row["reviewed_by"] == "assessor-all" and row["flags"] == ["burst"]
    decisions = [e for e in run(audit.recent, 500) if e["action"] == "response.review"]
    assert [(e["before"]["status"], e["after"]["status"]) for e in reversed(decisions)] == [
        ("quarantined", "excluded"),
        ("excluded", "included"),
    ]
    assert decisions[0]["actor"] == "assessor-all" and decisions[0]["after"]["review_reason"] == "经回访确认为真实居民"
    assert f"/staff/quarantine/{flagged[0]['id']}" in client.get("/staff/quarantine?show=reviewed").text
    assert len(world.responses()) == 80


def test_counted_and_superseded_responses_are_not_reviewable(run, world, client, staff, flagged):
    counted = next(r for r in world.responses() if r["status"] == ResponseStatus.counted)
    staff.as_role(Role.admin)
    token = csrf_token(client.get("/staff/quarantine").text)
    assert client.get(f"/staff/quarantine/{counted['id']}").status_code == 404
    post = client.post(
        f"/staff/quarantine/{counted['id']}", data={"_csrf_token": token, "decision": "exclude", "reason": "差评太多"}
    )
    assert post.status_code == 404
    assert next(r for r in world.responses() if r["id"] == counted["id"])["status"] == ResponseStatus.counted


def test_workers_of_the_unit_cannot_see_or_decide(run, world, client, staff, flagged):
    staff.as_role(Role.worker, "331102-01")
    token = csrf_token(client.get("/staff/password").text)
    assert client.get("/staff/quarantine").status_code == 404
    post = client.post(
        f"/staff/quarantine/{flagged[0]['id']}", data={"_csrf_token": token, "decision": "exclude", "reason": "差评"}
    )
    assert post.status_code == 404
    assert next(r for r in world.responses() if r["id"] == flagged[0]["id"])["status"] == ResponseStatus.quarantined


# --- staff-entered answers: stuffing by the rated unit's own staff ------------------------------------


def staff_rows(seed: int) -> tuple[Questionnaire, list[dict[str, Any]], set[int], set[int]]:
    """Five communities, each with 60 residents' answers around its own quality; honest workers interviewing
    and keying paper sheets (as its residents answer, at a human pace, sheets in printed order); and three
    stuffers: 40 all-praise sheets keyed in minutes, 30 sheets of near-uniform praise keyed at a normal pace,
    25 interviews that are all praise but one item. Returns the rows, the stuffed ids and the honest staff ids."""
    q = load_file(QUESTIONNAIRES_DIR / "community-services.yaml")
    items = [i.id for i in q.rating_items()]
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    stuffed: set[int] = set()
    honest_staff: set[int] = set()
    quality = rng.normal(3.6, 0.3, size=5)

    def honest(unit: int) -> dict[str, Any]:
        mood = rng.normal(0, 0.8)
        return {i: int(np.clip(round(quality[unit] + mood + rng.normal(0, 0.8)), 1, 5)) for i in items}

    def add(channel, unit, t, answers, worker=None, number=None) -> int:
        rows.append(
            {
                "id": len(rows) + 1,
                "unit": unit,
                "link": unit,
                "channel": channel,
                "answers": answers,
                "submitted_at": START + timedelta(seconds=float(t)),
                "duration_s": float(rng.lognormal(np.log(150), 0.4)),
                "device_hash": None if worker else f"d{len(rows)}",
                "entered_by": worker,
                "sheet_number": number,
            }
        )
        return len(rows)

    for unit in range(5):
        for _ in range(60):
            add(Channel.qr, unit, rng.uniform(0, 20 * 86400), honest(unit))
    for worker, unit in ((31, 0), (32, 1), (33, 2), (34, 3), (35, 4)):  # honest keyers, one unit each
        start = rng.integers(1, 15) * 86400 + 3600  # 09:00 in Lishui
        for n in range(40):
            honest_staff.add(add(Channel.paper, unit, start + n * 95, honest(unit), worker, number=100 + n))
        for n in range(15):
            day = rng.integers(1, 19) * 86400 + 2 * 3600  # from 10:00
            honest_staff.add(add(Channel.interviewer, unit, day + n * 400, honest(unit), worker))
    fast = 8 * 86400 + 2 * 3600
    for n in range(40):  # worker 41 stuffs community 0: every rating 5, keyed in minutes, in printed order
        stuffed.add(add(Channel.paper, 0, fast + n * 6, dict.fromkeys(items, 5), 41, number=n + 1))
    for n in range(30):  # worker 42 stuffs community 1 at a normal pace: praise with little spread
        high = {i: int(rng.choice([4, 5], p=[0.15, 0.85])) for i in items}
        stuffed.add(add(Channel.paper, 1, 9 * 86400 + 2 * 3600 + n * 100, high, 42, number=int(rng.integers(1, 500))))
    for n in range(25):  # worker 43 "interviews" for community 2: all 5 but one item
        answers = dict.fromkeys(items, 5)
        answers[items[int(rng.integers(len(items)))]] = 4
        stuffed.add(add(Channel.interviewer, 2, (3 + n // 3) * 86400 + 2 * 3600 + n * 1000, answers, 43))
    return q, rows, stuffed, honest_staff


@pytest.mark.parametrize("seed", range(7, 17))
def test_stuffed_staff_entries_are_caught_and_honest_ones_left_alone(seed):
    q, rows, stuffed, honest_staff = staff_rows(seed)
    flags = quarantine.compute_flags(q, rows)
    caught = stuffed & set(flags)
    assert len(caught) / len(stuffed) >= 0.95, sorted(stuffed - caught)  # recall
    wrongly = honest_staff & set(flags)
    assert len(wrongly) <= 0.01 * len(honest_staff), {i: flags[i] for i in wrongly}  # ≤ 1 % false positives
    residents = {r["id"] for r in rows if r["channel"] == Channel.qr}
    assert len(residents & set(flags)) <= 0.01 * len(residents)
    assert {"keying_burst", "serial_clone", "staff_shift", "uniform_entries"} <= set().union(*flags.values())


@pytest.mark.parametrize("seed", [7, 8])
def test_mirrored_staff_entries_flag_the_same_responses(seed):
    """Stuffing with praise or with damnation looks the same to the signals (no direction, threat T20)."""
    q, rows, stuffed, _ = staff_rows(seed)
    before = quarantine.compute_flags(q, rows)
    after = quarantine.compute_flags(q, [r | {"answers": mirrored(q, r["answers"])} for r in rows])
    assert stuffed & set(before) and after == before
