"""The bad-rating loop in the domain: opening, call-back numbers, states, appeals, revisions and figures."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import analysis
from survey_app import accounts, audit, campaigns, responses, reviews
from survey_app.cases import appeals, records, workflow
from survey_app.cases.figures import figures_of
from survey_app.cases.workflow import CaseError
from survey_app.questionnaires.format import QuestionnaireError, load_scale_library, parse
from survey_app.receipts import callback_token
from survey_app.settings import QUESTIONNAIRES_DIR
from survey_app.tables import AuditEntry, CaseContact, CaseEvent, RatingCase, Response, ResponseStatus, Role

CITY = ZoneInfo("Asia/Shanghai")  # the default MINPING_TIME_ZONE, which the tests keep


def submit(run, world, answers, token=None, now=None):
    link_token = token or world.token_a
    form_token = responses.read_form_token(link_token, responses.mint_form_token(link_token))
    link = run(campaigns.find_link, link_token)
    return run(
        responses.record,
        campaign_id=link.campaign_id,
        unit_id=link.unit_id,
        link_id=link.link_id,
        token=form_token,
        answers=answers,
        now=now,
    )


def select(run, table, *where):
    async def fetch():
        query = table.select()
        for condition in where:
            query = query.where(condition)
        return await query.order_by(table.id)

    return run(fetch)


def response_id(run, receipt):
    return select(run, Response, Response.receipt == receipt)[0]["id"]


def member(run, staff, name, role, unit=None):
    return run(accounts.get, staff.create(name, role, unit))


def test_a_bad_overall_rating_opens_one_case_with_working_day_deadlines(run, world):
    opened = datetime(2026, 2, 13, 10, 0, tzinfo=CITY)
    saved = submit(run, world, {"overall": 1, "comment": "等了两小时"}, now=opened)
    submit(run, world, {"overall": 3})  # 基本满意 is not a bad rating
    [case] = select(run, RatingCase)
    assert case["response"] == response_id(run, saved.receipt)
    assert case["unit"] == world.unit_a and case["state"] == "new" and case["trigger"] == "overall=1"
    # Spring Festival 2026: call back by Sat 14 Feb (a swapped working day); close by Fri 27 Feb.
    assert case["verify_due"] == datetime(2026, 2, 15, tzinfo=CITY)
    assert case["close_due"] == datetime(2026, 2, 28, tzinfo=CITY)
    assert not case["due_estimated"]
    assert [e["kind"] for e in select(run, CaseEvent)] == ["opened"]


def test_a_resent_submission_and_the_sweep_open_no_second_case(run, world):
    link_token = world.token_a
    form_token = responses.read_form_token(link_token, responses.mint_form_token(link_token))
    link = run(campaigns.find_link, link_token)
    kwargs = dict(campaign_id=link.campaign_id, unit_id=link.unit_id, link_id=link.link_id, token=form_token)
    first = run(responses.record, answers={"overall": 2}, **kwargs)
    again = run(responses.record, answers={"overall": 2}, **kwargs)
    assert again.receipt == first.receipt and not again.created
    assert run(workflow.open_missing) == 0
    assert len(select(run, RatingCase)) == 1


def test_the_database_refuses_a_second_case_for_one_response(run, world):
    submit(run, world, {"overall": 1})
    [case] = select(run, RatingCase)

    async def second():
        await RatingCase(
            response=case["response"],
            campaign=case["campaign"],
            unit=case["unit"],
            trigger="overall=1",
            verify_due=case["verify_due"],
            close_due=case["close_due"],
        ).save()

    with pytest.raises(Exception, match="(?i)unique"):
        run(second)


def test_the_sweep_opens_cases_for_bad_ratings_saved_without_one(run, world):
    async def saved_behind_the_loop():  # as a response saved before cases existed
        for n, overall in enumerate((1, 5, 2)):
            await Response(
                submission_id=f"old{n}",
                receipt=f"OLD2345{n + 2}",
                campaign=world.campaign_id,
                unit=world.unit_b,
                answers={"overall": overall},
            ).save()

    run(saved_behind_the_loop)
    assert run(workflow.open_missing) == 2
    assert run(workflow.open_missing) == 0  # idempotent
    assert sorted(c["trigger"] for c in select(run, RatingCase)) == ["overall=1", "overall=2"]


def cases_as_opened(run):
    """Every case (without its id) and its events (without theirs), keyed by the case's response."""
    events = {}
    for e in select(run, CaseEvent):
        events.setdefault(e["rating_case"], []).append((e["at"], e["actor"], e["kind"], e["note"]))
    cases_by_response = {c["response"]: c for c in select(run, RatingCase)}
    return {r: ({k: v for k, v in c.items() if k != "id"}, events[c["id"]]) for r, c in cases_by_response.items()}


def delete_cases(run, *where):
    async def delete():
        ids = [c["id"] for c in await RatingCase.select(RatingCase.id).where(*where)]
        await CaseEvent.delete().where(CaseEvent.rating_case.is_in(ids))
        await RatingCase.delete().where(RatingCase.id.is_in(ids))

    run(delete)


def test_the_sweep_opens_exactly_the_missing_cases_as_saving_would_in_batches(run, world, monkeypatch):
    # Before and after the Spring Festival, a Saturday, late on a Monday: the deadlines differ for each.
    bad = [
        ({"overall": 1}, datetime(2026, 2, 13, 10, tzinfo=CITY), world.token_a),
        ({"overall": 2, "comment": "慢"}, datetime(2026, 2, 24, 18, tzinfo=CITY), world.token_b),
        ({"overall": 1}, datetime(2026, 3, 7, 9, tzinfo=CITY), world.token_a),
        ({"overall": 2}, datetime(2026, 3, 9, 23, 59, tzinfo=CITY), world.token_b),
    ]
    saved = [submit(run, world, answers, token=token, now=at) for answers, at, token in bad]
    submit(run, world, {"overall": 5})  # no case
    as_saved = cases_as_opened(run)
    ids = [response_id(run, s.receipt) for s in saved]
    assert sorted(as_saved) == ids
    kept = select(run, RatingCase, RatingCase.response == ids[0])[0]
    delete_cases(run, RatingCase.response != ids[0])  # as if saved before the loop existed
    excluded = submit(run, world, {"overall": 1})
    run(Response.update({Response.status: ResponseStatus.excluded}).where(Response.receipt == excluded.receipt).run)
    delete_cases(run, RatingCase.response == response_id(run, excluded.receipt))

    monkeypatch.setattr(workflow, "OPEN_BATCH", 2)  # three cases to open: two transactions
    assert run(workflow.open_missing) == 3
    assert cases_as_opened(run) == as_saved  # same rows, deadlines and "opened" events
    assert select(run, RatingCase, RatingCase.response == ids[0])[0] == kept  # the existing case untouched
    assert run(workflow.open_missing) == 0  # idempotent
    assert cases_as_opened(run) == as_saved


def test_two_sweeps_at_once_open_each_case_once_without_an_error(run, world, monkeypatch):
    for overall in (1, 2, 5, 1):
        submit(run, world, {"overall": overall})
    delete_cases(run, RatingCase.id.is_not_null())
    real_batch = workflow._open_batch

    async def both_sweeps():
        arrived, ready = [], asyncio.Event()

        async def in_step(batch):  # both sweeps have found the same missing cases before either writes
            arrived.append(batch)
            if len(arrived) == 2:
                ready.set()
            await ready.wait()
            return await real_batch(batch)

        monkeypatch.setattr(workflow, "_open_batch", in_step)
        return await asyncio.gather(workflow.open_missing(), workflow.open_missing())

    assert sorted(run(both_sweeps)) == [0, 3]  # the unique index decided; the loser skipped them
    opened = cases_as_opened(run)
    assert len(opened) == 3 and all(len(events) == 1 for _, events in opened.values())


BASE = """
slug: mini
version: 1
title: 测试
items:
  - {id: overall, type: rating, scale: satisfaction, text: 总体}
  - id: why
    type: multi
    text: 原因
    options: [{value: slow, label: 慢}, {value: favours, label: 索要好处}]
"""


def parse_mini(extra: str):
    return parse(BASE + extra, name="mini.yaml", library=load_scale_library(QUESTIONNAIRES_DIR / "_scales.yaml"))


def test_bad_rating_rule_from_the_file_or_the_default_overall_item():
    default = parse_mini("").bad_rating_rule()
    assert (default.item, default.bad_values) == ("overall", frozenset({1, 2}))
    rule = parse_mini("bad_rating: {item: overall, reasons: {item: why, values: [favours]}}").bad_rating_rule()
    assert rule.trigger({"overall": 4, "why": ["slow", "favours"]}) == "why=favours"
    assert rule.trigger({"overall": 2}) == "overall=2"
    assert rule.trigger({"overall": 3, "why": ["slow"]}) is None
    off = parse_mini("bad_rating: {item: null}").bad_rating_rule()
    assert off.trigger({"overall": 1}) is None
    # Absent, the field is left out of the canonical JSON: stored definitions keep their hash.
    assert b"bad_rating" not in parse_mini("").to_json()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("bad_rating: {item: why}", "mini.yaml: bad_rating.item: 'why' is not a rating item"),
        ("bad_rating: {item: nope}", "mini.yaml: bad_rating.item: 'nope' is not a rating item"),
        (
            "bad_rating: {item: overall, reasons: {item: why, values: [rude]}}",
            "mini.yaml: bad_rating.reasons.values.0: 'rude' is not an answer of 'why'",
        ),
        (
            "bad_rating: {item: overall, reasons: {item: overall, values: [1]}}",
            "mini.yaml: bad_rating.reasons.item: 'overall' is not a choice, multi or yes/no item",
        ),
        ("bad_rating: {levels: [1]}", "mini.yaml: bad_rating: object contains unknown field levels"),
    ],
)
def test_bad_rating_mistakes_are_named(extra, message):
    with pytest.raises(QuestionnaireError) as error:
        parse_mini(extra)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("0578-2123456", "0578-2123456"),
        ("05782123456", "0578-2123456"),
        ("010-12345678", "010-12345678"),
    ],
)
def test_phone_numbers_are_normalised(typed, stored):
    assert workflow.normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["", "12345", "12800138000", "1380013800", "2123456", "0578-21234", "电话"])
def test_other_phone_numbers_are_refused(typed):
    with pytest.raises(CaseError):
        workflow.normalise_phone(typed)


def test_the_number_is_kept_apart_and_deleted_when_the_case_closes(run, world, staff):
    saved = submit(run, world, {"overall": 1})
    run(workflow.leave_contact, world.campaign_id, saved.receipt, "13800138000", callback_token(saved.receipt))
    run(
        workflow.leave_contact, world.campaign_id, saved.receipt, "13900139000", callback_token(saved.receipt)
    )  # a corrected typo replaces it
    [contact] = select(run, CaseContact)
    assert contact["phone"] == "13900139000"
    assert "139" not in json.dumps(select(run, Response)[0]["answers"])
    worker = member(run, staff, "worker1", Role.worker, "331102-01")
    run(workflow.move, worker, contact["rating_case"], "verified", "已回访，确认等候过久")
    assert select(run, CaseContact)  # still open: kept
    run(workflow.move, worker, contact["rating_case"], "resolved", "增开窗口")
    assert select(run, CaseContact) == []
    [case] = select(run, RatingCase)
    assert case["contact_given_at"] is not None and case["verified_at"] is not None and case["closed_at"]
    with pytest.raises(CaseError):  # closed: no number is taken any more
        run(
            workflow.leave_contact,
            world.campaign_id,
            saved.receipt,
            "13800138000",
            callback_token(saved.receipt),
        )


def test_no_number_for_a_good_rating_or_another_campaign(run, world):
    good = submit(run, world, {"overall": 5})
    bad = submit(run, world, {"overall": 1})
    with pytest.raises(CaseError):
        run(
            workflow.leave_contact,
            world.campaign_id,
            good.receipt,
            "13800138000",
            callback_token(good.receipt),
        )
    with pytest.raises(CaseError):
        run(
            workflow.leave_contact,
            world.campaign_id + 1,
            bad.receipt,
            "13800138000",
            callback_token(bad.receipt),
        )
    assert select(run, CaseContact) == []


def test_moves_follow_the_state_machine_with_a_note_and_are_audited(run, world, staff):
    submit(run, world, {"overall": 2})
    [case] = select(run, RatingCase)
    worker = member(run, staff, "worker1", Role.worker, "331102-01")
    with pytest.raises(CaseError):
        run(workflow.move, worker, case["id"], "verified", "  ")
    with pytest.raises(CaseError):
        run(workflow.move, worker, case["id"], "excluded", "想直接排除")  # only an upheld appeal excludes
    run(workflow.move, worker, case["id"], "rectifying", "居民未留电话，直接整改")
    with pytest.raises(CaseError):
        run(workflow.move, worker, case["id"], "verified", "回不去了")
    run(workflow.reply, worker, case["id"], "已调整窗口排班。")
    run(workflow.move, worker, case["id"], "explained", "属于政策规定，已解释")
    entries = select(run, AuditEntry)
    assert [e["action"] for e in entries][-3:] == ["case.state", "case.reply", "case.state"]
    assert json.loads(entries[-3]["payload"])["after"] == {"state": "rectifying", "note": "居民未留电话，直接整改"}
    assert run(audit.verify).ok
    assert [e["kind"] for e in select(run, CaseEvent)] == ["opened", "rectifying", "reply", "explained"]


def test_an_upheld_appeal_excludes_the_rating_and_closes_the_case(run, world, staff):
    saved = submit(run, world, {"overall": 1})
    run(workflow.leave_contact, world.campaign_id, saved.receipt, "13800138000", callback_token(saved.receipt))
    [case] = select(run, RatingCase)
    worker = member(run, staff, "worker1", Role.worker, "331102-01")
    assessor = member(run, staff, "assessor1", Role.assessor)
    with pytest.raises(CaseError):
        run(appeals.file, worker, case["id"], "spite", "理由")
    run(appeals.file, worker, case["id"], "malicious", "同一时段连续差评，现场无此办件")
    with pytest.raises(CaseError):
        run(appeals.file, worker, case["id"], "mistaken", "再申诉一次")
    with pytest.raises(CaseError):
        run(appeals.decide, worker, case["id"], True, "自己说了算")  # workers never decide
    run(appeals.decide, assessor, case["id"], True, "核实无此办件记录")
    [response] = select(run, Response)
    assert response["status"] == "excluded"
    assert response["review_reason"] == "申诉成立: 核实无此办件记录" and response["reviewed_by"] == "assessor1"
    [case] = select(run, RatingCase)
    assert (case["state"], case["appeal"], case["decided_by"]) == ("excluded", "upheld", "assessor1")
    assert select(run, CaseContact) == []
    actions = [e["action"] for e in select(run, AuditEntry)]
    assert actions[-3:] == ["case.appeal", "case.decide", "response.exclude"]
    assert run(audit.verify).ok


def test_a_rejected_appeal_leaves_the_case_running_and_nobody_decides_their_own(run, world, staff):
    submit(run, world, {"overall": 2})
    [case] = select(run, RatingCase)
    admin = member(run, staff, "boss", Role.admin)
    assessor = member(run, staff, "assessor1", Role.assessor)
    run(appeals.file, admin, case["id"], "mistaken", "居民点错了")
    with pytest.raises(CaseError):
        run(appeals.decide, admin, case["id"], True, "同意")
    assert [p.case_id for p in run(appeals.pending, None)] == [case["id"]]
    run(appeals.decide, assessor, case["id"], False, "无证据")
    [case] = select(run, RatingCase)
    assert (case["state"], case["appeal"]) == ("new", "rejected")
    assert select(run, Response)[0]["status"] == "counted"
    assert run(appeals.pending, None) == []


def test_a_revision_that_is_no_longer_bad_closes_the_old_case(run, world):
    old = submit(run, world, {"overall": 1})
    run(workflow.leave_contact, world.campaign_id, old.receipt, "13800138000", callback_token(old.receipt))
    new = submit(run, world, {"overall": 4})
    run(workflow.on_superseded, response_id(run, old.receipt), response_id(run, new.receipt))
    [case] = select(run, RatingCase)
    assert case["state"] == "superseded" and case["closed_at"] is not None
    assert select(run, CaseContact) == []
    assert run(records.receipt_status, old.receipt).state == "superseded"


def test_a_revision_that_is_still_bad_carries_the_case_on(run, world, staff):
    opened = datetime(2026, 2, 13, 10, 0, tzinfo=CITY)
    old = submit(run, world, {"overall": 2}, now=opened)
    run(workflow.leave_contact, world.campaign_id, old.receipt, "13800138000", callback_token(old.receipt))
    worker = member(run, staff, "worker1", Role.worker, "331102-01")
    old_case = select(run, RatingCase)[0]
    run(workflow.move, worker, old_case["id"], "verified", "已回访")
    run(appeals.file, worker, old_case["id"], "mistaken", "点错")
    new = submit(run, world, {"overall": 1}, now=opened + timedelta(minutes=20))
    run(workflow.on_superseded, response_id(run, old.receipt), response_id(run, new.receipt))
    run(workflow.on_superseded, response_id(run, old.receipt), response_id(run, new.receipt))  # twice: no harm
    old_case, new_case = select(run, RatingCase)
    assert (old_case["state"], old_case["successor"], old_case["appeal"]) == ("superseded", new_case["id"], "lapsed")
    assert new_case["state"] == "verified" and new_case["opened_at"] == opened  # no time bought by revising
    assert new_case["close_due"] == datetime(2026, 2, 28, tzinfo=CITY)
    [contact] = select(run, CaseContact)
    assert contact["rating_case"] == new_case["id"]
    assert run(records.receipt_status, old.receipt).state == "verified"  # the old code follows the case


def test_an_excluded_response_closes_its_case(run, world):
    saved = submit(run, world, {"overall": 1})
    run(workflow.leave_contact, world.campaign_id, saved.receipt, "13800138000", callback_token(saved.receipt))
    run(workflow.on_excluded, response_id(run, saved.receipt), "a", "隔离复核：刷票")
    assert select(run, RatingCase)[0]["state"] == "excluded"
    assert select(run, CaseContact) == []


def test_excluding_a_flagged_rating_on_review_closes_its_case(run, world, staff):
    saved = submit(run, world, {"overall": 1})
    run(workflow.leave_contact, world.campaign_id, saved.receipt, "13800138000", callback_token(saved.receipt))
    rid = response_id(run, saved.receipt)
    run(Response.update({Response.status: ResponseStatus.quarantined}).where(Response.id == rid).run)
    assessor = member(run, staff, "assessor1", Role.assessor)
    run(reviews.decide, assessor, rid, "include", "核实为真实居民")
    assert select(run, RatingCase)[0]["state"] == "new"  # kept in the score: the unit still owes a fix
    run(reviews.decide, assessor, rid, "exclude", "同一设备连续提交")
    assert select(run, RatingCase)[0]["state"] == "excluded"
    assert select(run, CaseContact) == []


def test_receipt_status_shows_state_and_reply_but_nothing_of_the_resident(run, world, staff):
    bad = submit(run, world, {"overall": 1, "comment": "我的电话13800138000"})
    good = submit(run, world, {"overall": 5})
    run(workflow.leave_contact, world.campaign_id, bad.receipt, "13800138000", callback_token(bad.receipt))
    worker = member(run, staff, "worker1", Role.worker, "331102-01")
    [case] = select(run, RatingCase)
    run(workflow.reply, worker, case["id"], "已整改，如有问题请拨打 13900139000 联系")
    status = run(records.receipt_status, bad.receipt.lower())
    assert status.state == "new" and status.unit_name == "大洋社区"
    assert "13900139000" not in status.reply and "＊＊＊" in status.reply
    assert "13800138000" not in repr(status)
    assert run(records.receipt_status, good.receipt).state is None
    assert run(records.receipt_status, "ZZZZZZZZ") is None
    assert run(records.receipt_status, "not a code") is None


def test_figures_count_call_backs_deadlines_and_closes_with_wilson_intervals(run, world, staff):
    worker = member(run, staff, "worker1", Role.worker, "331102-01")
    start = datetime(2026, 3, 2, tzinfo=CITY)  # Monday; 5 working days → due end of Monday 9 March
    receipts = [submit(run, world, {"overall": 1}, now=start + timedelta(hours=h)).receipt for h in range(5)]
    submit(run, world, {"overall": 1}, token=world.token_b, now=start)
    ids = [c["id"] for c in select(run, RatingCase, RatingCase.unit == world.unit_a)]
    for receipt in receipts[:3]:
        run(workflow.leave_contact, world.campaign_id, receipt, "13800138000", callback_token(receipt))
    run(workflow.move, worker, ids[0], "verified", "已回访")
    run(workflow.move, worker, ids[0], "resolved", "已整改")  # closed now (after its deadline in 2026-03)
    run(workflow.move, worker, ids[1], "explained", "已解释")
    assessor = member(run, staff, "assessor1", Role.assessor)
    run(appeals.file, worker, ids[4], "malicious", "恶意")
    run(appeals.decide, assessor, ids[4], True, "成立")  # excluded: not counted

    async def closed_on_time():  # the first case closed within its deadline
        await RatingCase.update({RatingCase.closed_at: start + timedelta(days=1)}).where(RatingCase.id == ids[0])

    run(closed_on_time)
    end = start + timedelta(days=1)
    figures = run(figures_of, [world.unit_a, world.unit_b, 999999], start, end)  # as of now
    a = figures[world.unit_a]
    assert (a.n, a.open, a.overdue) == (4, 2, 2)
    assert (a.called_back.estimate, a.called_back.n) == (pytest.approx(1 / 3), 3)
    assert (a.on_time.estimate, a.on_time.n) == (pytest.approx(1 / 4), 4)  # 2 closed (1 late) + 2 overdue
    assert (a.rectified.estimate, a.rectified.n) == (pytest.approx(2 / 4), 4)
    expected = analysis.proportion_ci(1, 4)
    assert (a.on_time.low, a.on_time.high, a.on_time.method) == (expected.low, expected.high, "wilson")
    assert figures[world.unit_b].n == 1 and figures[999999].n == 0
    assert figures[999999].rectified.n == 0
    # Judged as the cases stood two days in: only the first was closed (the others, the number left,
    # the call-back and the upheld appeal all came later), and no open case was due yet.
    early = run(figures_of, [world.unit_a], start, end, as_of=start + timedelta(days=2))[world.unit_a]
    assert (early.n, early.open, early.overdue) == (5, 4, 0)
    assert (early.on_time.n, early.on_time.estimate, early.called_back.n) == (1, 1.0, 0)
    assert (early.rectified.estimate, early.rectified.n) == (pytest.approx(1 / 5), 5)
    # Before the cases were opened they did not exist.
    assert run(figures_of, [world.unit_a], start, end, as_of=start - timedelta(hours=1))[world.unit_a].n == 0
    assert run(figures_of, [world.unit_a], end, end + timedelta(days=1))[world.unit_a].n == 0


def test_a_case_opened_where_the_calendar_ends_is_marked_estimated(run, world):
    last_known = date(2026, 12, 30)
    submit(run, world, {"overall": 1}, now=datetime(2026, 12, 30, 10, tzinfo=CITY))
    [case] = select(run, RatingCase)
    assert case["due_estimated"] and case["close_due"].astimezone(CITY).date() > last_known


def test_estimated_deadlines_are_redated_once_the_year_is_on_the_calendar(run, world, cli, tmp_path):
    submit(run, world, {"overall": 1}, now=datetime(2026, 12, 30, 10, tzinfo=CITY))  # a Wednesday
    [case] = select(run, RatingCase)
    # Monday to Friday: 31 Dec, then 1, 4, 5, 6 January 2027, due at the midnight that ends the 6th
    assert case["due_estimated"] and case["close_due"].astimezone(CITY).date() == date(2027, 1, 7)
    # while nothing knows 2027, nothing changes
    assert cli("holidays", "redate").stdout == "0 open cases got their official deadlines\n"
    notice = tmp_path / "holidays.yaml"
    notice.write_text("2027:\n  holidays: [2027-01-01..2027-01-03]\n")  # made up for the test
    done = cli("holidays", "redate", env={"MINPING_HOLIDAYS_FILE": str(notice)})
    assert (done.returncode, done.stdout) == (0, f"1 open cases got their official deadlines: [{case['id']}]\n")
    [case] = select(run, RatingCase)
    # 31 Dec, then 4, 5, 6, 7 January: the 1st is off
    assert not case["due_estimated"] and case["close_due"].astimezone(CITY).date() == date(2027, 1, 8)
    [event] = select(run, CaseEvent, CaseEvent.kind == "redated")
    assert (event["actor"], event["note"]) == ("cli", "2027-01-06 → 2027-01-07")
    [entry] = select(run, AuditEntry, AuditEntry.action == "case.redate")
    assert json.loads(entry["payload"])["after"]["estimated"] is False
    again = cli("holidays", "redate", env={"MINPING_HOLIDAYS_FILE": str(notice)})
    assert again.stdout == "0 open cases got their official deadlines\n"
