"""A demo city from the seed speech: Liandu district's street offices, communities and city departments,
one open campaign per bundled questionnaire, and seeded synthetic responses.

The responses follow an ordered-probit model: each unit has a latent quality, each resident a
leniency, each item a difficulty, so units really differ, items within a dimension correlate,
and a few units are small enough to show the small-sample rules. The same seed gives the same answers.
"""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from survey_app import accounts, campaigns, changes, receipts, units
from survey_app.assessment import periods, schemes
from survey_app.cases import workflow
from survey_app.changes import Change, Kind
from survey_app.db import writing
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import DONT_KNOW, Item, LocalText, Questionnaire, localise
from survey_app.settings import SCHEMES_DIR
from survey_app.tables import CampaignStatus, Channel, Link, Response, Role, UnitKind

DEFAULT_SEED = 2026
PURPOSE = LocalText(
    zh="创建省级文明城市，请您为身边的服务打分。您的评价将计入相关单位的年度考核。",
    en="Lishui is working to become a provincial civilized city. Your rating counts in the units' annual assessment.",
)
BATCH = 500

STREETS = {  # street office → its communities (names as in Liandu; codes are made up)
    "万象街道": ["大洋社区", "中山社区", "丽阳社区", "应星社区", "水东社区"],
    "紫金街道": ["紫金社区", "城北社区", "灯塔社区", "东港社区", "北苑社区"],
    "岩泉街道": ["岩泉社区", "宛山社区", "天宁社区", "仓前社区", "中东社区"],
    "白云街道": ["白云社区", "三岩寺社区", "九里社区", "万象山社区", "水阁社区"],
    "联城街道": ["联城社区", "港口社区", "下河社区", "新亭社区", "上梁社区"],
    "南明山街道": ["南明社区", "下沙社区", "周巷社区", "路湾社区", "石牛社区"],
}
DEPARTMENTS = [
    "市公安局",
    "市市场监督管理局",
    "市人力资源和社会保障局",
    "市住房和城乡建设局",
    "市自然资源和规划局",
    "市行政服务中心",
    "市民政局",
    "市卫生健康委员会",
    "市教育局",
    "市交通运输局",
    "市综合行政执法局",
    "市生态环境局",
    "市医疗保障局",
    "市司法局",
    "市不动产登记中心",
]
# Departments with a public service window (好差评 at the counter).
WINDOW_DEPARTMENTS = DEPARTMENTS[:2] + DEPARTMENTS[5:7] + DEPARTMENTS[12:15]
URBAN_VILLAGE_COMMUNITIES = 8
# Response counts per unit: most units are well sampled, a few are small on purpose.
SMALL_UNIT_SIZES = (4, 9, 16, 27)
COMMENTS = [
    "希望增加夜间巡逻。",
    "办事很快，工作人员很耐心。",
    "楼道堆放杂物，希望清理。",
    "健康讲座很实用，希望多办。",
    "停车太难，希望规划车位。",
    "窗口等候时间太长。",
    "垃圾分类做得不错。",
    "路灯坏了很久没人修。",
]


async def build(seed: int = DEFAULT_SEED, now: datetime | None = None) -> dict[str, int]:
    """Create the demo units, campaigns and responses; return {campaign slug: responses}."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    communities, departments = await _create_units()
    ids = await versions.register_bundled()
    plan = {
        "community-services": communities,
        "safe-community": communities,
        "urban-village": communities[:URBAN_VILLAGE_COMMUNITIES],
        "department-conduct": departments,
        "window-rating": [departments[DEPARTMENTS.index(d)] for d in WINDOW_DEPARTMENTS],
    }
    counts = {}
    for slug, unit_ids in plan.items():
        if slug not in ids:
            continue
        questionnaire = await versions.get(ids[slug])
        campaign_slug = f"{slug}-{now.year}"
        campaign_id = await campaigns.create(
            campaign_slug,
            ids[slug],
            f"{now.year}年{_title(questionnaire)}",
            unit_ids,
            title_en=f"{_title(questionnaire, 'en')} {now.year}",
            purpose=PURPOSE.zh,
            purpose_en=PURPOSE.en or "",
            status=CampaignStatus.open,
            opens_at=now - timedelta(days=30),
            closes_at=now + timedelta(days=60),
            targets={u: 60 for u in unit_ids},
        )
        counts[campaign_slug] = await _responses(rng, questionnaire, campaign_id, unit_ids, now)
    await workflow.open_missing()  # the demo inserts responses in bulk: open the cases of its bad ratings
    await periods.create(  # an open period, so assessors find a league table from the start
        f"demo-{now.year}",
        schemes.load_file(SCHEMES_DIR / DEMO_SCHEME),
        f"{now.year} 年度文明城市测评（演示）",
        title_en=f"Civilized city assessment {now.year} (demo)",
        actor="demo",
        campaigns_by_slug=None,
    )
    return counts


DEMO_SCHEME = "civilized-city-2026.yaml"

DEMO_ACCOUNTS = [  # username, role, unit code, display name
    ("admin", Role.admin, None, "创建办管理员"),
    ("pinggu", Role.assessor, None, "考核办评估员"),
    ("wanxiang", Role.worker, "331102-01", "万象街道社工"),
]


async def create_accounts() -> dict[str, str]:
    """Demo staff accounts with fresh random passwords; returns {username: password}."""
    passwords = {}
    for username, role, unit_code, name in DEMO_ACCOUNTS:
        passwords[username] = secrets.token_urlsafe(9)
        await accounts.create(username, role, passwords[username], unit_code=unit_code, display_name=name, actor="demo")
    return passwords


def _title(q: Questionnaire, lang: str = "zh") -> str:
    return localise(q.title, lang)


async def _create_units() -> tuple[list[int], list[int]]:
    await units.create("3311", "丽水市", UnitKind.city, name_en="Lishui")
    await units.create("331102", "莲都区", UnitKind.district, parent_code="3311", name_en="Liandu District")
    communities = []
    for s, (street, names) in enumerate(STREETS.items(), start=1):
        street_code = f"331102-{s:02d}"
        await units.create(street_code, street, UnitKind.street, parent_code="331102")
        for c, name in enumerate(names, start=1):
            population = 3000 + 900 * ((s * 7 + c * 3) % 9)
            communities.append(
                await units.create(
                    f"{street_code}-{c:03d}", name, UnitKind.community, parent_code=street_code, population=population
                )
            )
    departments = [
        await units.create(f"3311-D{d:02d}", name, UnitKind.department, parent_code="3311")
        for d, name in enumerate(DEPARTMENTS, start=1)
    ]
    return communities, departments


async def _responses(rng: random.Random, q: Questionnaire, campaign_id: int, unit_ids: list[int], now: datetime) -> int:
    difficulty = {item.id: rng.gauss(0, 0.35) for item in q.items}
    link_ids = await _link_ids(campaign_id)
    rows = []
    for position, unit_id in enumerate(unit_ids):
        quality = rng.gauss(0.2, 0.6)
        size = SMALL_UNIT_SIZES[position] if position < len(SMALL_UNIT_SIZES) else rng.randint(35, 110)
        for _ in range(size):
            leniency = rng.gauss(0, 0.5)
            answers = _answers(rng, q, quality + leniency, difficulty)
            duration = min(1800.0, rng.lognormvariate(4.6, 0.45))
            submitted = now - timedelta(seconds=rng.uniform(0, 29 * 86400))
            rows.append(
                Response(
                    submission_id=uuid.UUID(int=rng.getrandbits(128), version=4).hex,
                    receipt="".join(rng.choice(receipts.ALPHABET) for _ in range(receipts.LENGTH)),
                    campaign=campaign_id,
                    unit=unit_id,
                    link=link_ids[unit_id],
                    answers=answers,
                    channel=Channel.interviewer if rng.random() < 0.12 else Channel.qr,
                    started_at=submitted - timedelta(seconds=duration),
                    submitted_at=submitted,
                    duration_s=round(duration, 1),
                )
            )
    for start in range(0, len(rows), BATCH):
        async with writing():
            inserted = await Response.insert(*rows[start : start + BATCH]).returning(Response.id)
            await changes.record_many(Kind.response, sorted(r["id"] for r in inserted), Change.created)
    return len(rows)


async def _link_ids(campaign_id: int) -> dict[int, int]:
    rows = await Link.select(Link.id, Link.unit).where(Link.campaign == campaign_id)
    return {r["unit"]: r["id"] for r in rows}


def _answers(rng: random.Random, q: Questionnaire, level: float, difficulty: dict[str, float]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in q.items:
        if not q.is_shown(item, answers):
            continue
        if not item.required and rng.random() < (0.5 if item.type in ("text", "longtext") else 0.06):
            continue
        value = _answer(rng, q, item, level - difficulty[item.id])
        if value is not None:
            answers[item.id] = value
    return answers


def _answer(rng: random.Random, q: Questionnaire, item: Item, level: float) -> Any:
    if item.type == "rating":
        if item.dont_know and rng.random() < 0.07:
            return DONT_KNOW
        z = level + rng.gauss(0, 0.8) + 0.9
        rank = 1 if z > 1.6 else 2 if z > 0.6 else 3 if z > -0.4 else 4 if z > -1.2 else 5
        levels = q.scales[item.scale or ""].levels
        if item.reverse:
            rank = len(levels) + 1 - rank
        return levels[min(rank, len(levels)) - 1].value
    if item.type == "choice":
        options = item.options or []
        # Older residents answer more often: the demo's age bands lean old, as door-to-door samples do.
        weights = [1 + n for n in range(len(options))] if item.demographic == "age_band" else None
        return rng.choices(options, weights=weights)[0].value
    if item.type == "multi":
        chosen = [o.value for o in item.options or [] if rng.random() < 0.3]
        return chosen or [(item.options or [])[0].value]
    if item.type == "yesno":
        return rng.random() < 0.7
    if item.type == "number":
        low, high = item.min if item.min is not None else 0, item.max if item.max is not None else 100
        return rng.randint(int(low), int(high))
    return rng.choice(COMMENTS) if item.type in ("text", "longtext") else None
