"""Piccolo tables. Only domain modules query them, never the HTTP layer (survey_app/web/).

Composite uniqueness — (slug, version) of a questionnaire, (campaign, unit), and (campaign,
submission_id) and (campaign, sheet) of a response — is enforced by unique indexes created in the migrations, because
Piccolo writes composite constraints as ALTER TABLE … ADD CONSTRAINT, which SQLite cannot run.

No foreign key cascades: deleting a unit, questionnaire or campaign must never delete a resident's
answers, so every reference is ON DELETE RESTRICT. The one exception is a second keying, which is
part of its response's record and goes with it (nothing in Minping deletes responses).
"""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import (
    JSONB,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    OnUpdate,
    Real,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class UnitKind(StrEnum):
    city = "city"
    district = "district"
    street = "street"
    community = "community"
    department = "department"


class CampaignStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class InsideEntry(StrEnum):
    """What happens to answers keyed or interviewed by staff of the rated unit's own subtree."""

    hold = "hold"  # saved, held (quarantined, flag inside_entry) until someone outside the subtree confirms
    refuse = "refuse"  # not taken at all


class Channel(StrEnum):
    qr = "qr"
    interviewer = "interviewer"
    paper = "paper"
    import_ = "import"


class Unit(Table):
    """Anything that is scored: city, district, street office, community or department, as a tree."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    code = Varchar(length=32, unique=True, index=True, help_text="Stable code, e.g. 331102-001.")
    name = Varchar(length=100)
    name_en = Varchar(length=200, default="")
    kind = Varchar(length=16, choices=UnitKind)
    parent: ForeignKey[Unit] = ForeignKey("self", null=True, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    population = Integer(null=True, default=None, help_text="Adult residents or yearly clients.")
    created_at = Timestamptz()  # default: now


class QuestionnaireVersion(Table, tablename="questionnaire"):
    """One validated version of a questionnaire; never changed once a campaign uses it."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    slug = Varchar(length=63, index=True)
    version = Integer()
    title = Varchar(length=200)
    definition = Text(help_text="Canonical JSON of the validated definition, scales embedded.")
    content_hash = Varchar(length=64, help_text="sha256 of `definition`.")
    bundled = Boolean(default=False)
    created_at = Timestamptz()  # default: now


class Campaign(Table):
    """One questionnaire version run over a period for a set of units."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    slug = Varchar(length=63, unique=True, index=True)
    title = Varchar(length=200)
    title_en = Varchar(length=200, default="")
    purpose = Text(default="", help_text="Shown to residents on top of the form.")
    purpose_en = Text(default="")
    questionnaire = ForeignKey(
        QuestionnaireVersion, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict
    )
    status = Varchar(length=8, choices=CampaignStatus, default=CampaignStatus.draft)
    opens_at = Timestamptz(null=True, default=None)
    closes_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()  # default: now
    # One resident, one vote: the layers a campaign can switch on (survey_app/ballots.py).
    device_check = Boolean(default=True, help_text="A signed per-campaign cookie marks a device that answered.")
    revision_minutes = Integer(default=30, help_text="How long a device may revise its answers (replacing them).")
    invitation_only = Boolean(default=False, help_text="Answers need a one-time invitation code.")
    link_hourly_limit = Integer(null=True, default=None, help_text="Accepted answers per link per hour.")
    campaign_hourly_limit = Integer(null=True, default=None, help_text="Accepted answers per campaign per hour.")
    inside_entry = Varchar(
        length=8,
        choices=InsideEntry,
        default=InsideEntry.hold,
        help_text="Answers entered by the rated unit's own staff (or above it): held for confirmation, or refused.",
    )
    flag_key = Varchar(
        length=64,
        default="",
        secret=True,
        help_text="Key of the per-campaign device hashes; replaced when the campaign closes, so they cannot be linked.",
    )


class CampaignUnit(Table):
    """A unit covered by a campaign, with its target number of responses."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    target = Integer(null=True, default=None)


class Link(Table):
    """A QR code: campaign × unit × optional site, reached through an unguessable token."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    token = Varchar(length=64, unique=True, index=True, help_text="≥ 128 random bits, URL-safe.")
    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    site = Varchar(length=100, default="", help_text='Poster location, e.g. "东门公告栏".')
    created_at = Timestamptz()  # default: now
    revoked_at = Timestamptz(null=True, default=None)
    paused_at = Timestamptz(null=True, default=None)  # taken down for a while; resuming clears it
    # What a poster prints for typing (/k/<code>); unique by the index of migration 0014.
    short_code = Varchar(length=16, null=True, default=None, help_text="8 characters of Crockford's base32.")
    scans = Integer(default=0, help_text="Times the form was opened (approximate: flushed every few seconds).")
    starts = Integer(default=0, help_text="Times answers were sent, valid or not (approximate, as scans).")
    limited = Integer(
        default=0, help_text="Answers turned away by the campaign's hourly limits (approximate, as scans)."
    )


class ResponseStatus(StrEnum):
    counted = "counted"  # in every score
    quarantined = "quarantined"  # flagged; waits for an assessor, left out of the score meanwhile
    included = "included"  # flagged, reviewed and kept: counted
    excluded = "excluded"  # reviewed and left out, with a reason; shown in "with all responses" figures
    superseded = "superseded"  # replaced by the same device's revision; never counted


class Response(Table):
    """One resident's answers. Rows are only ever added; a status, never a delete, takes one out of a score."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    submission_id = Varchar(length=40, help_text="Minted when the form was rendered; unique per campaign.")
    receipt = Varchar(length=16, unique=True, help_text="Short code shown to the resident.")
    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    link = ForeignKey(Link, null=True, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    answers = JSONB(default={}, help_text="{item id: value}; see questionnaires/README.md.")
    channel = Varchar(length=12, choices=Channel, default=Channel.qr)
    lang = Varchar(length=8, default="zh")
    started_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz()  # default: now
    duration_s = Real(null=True, default=None, help_text="Seconds from form render to submit.")
    entered_by: ForeignKey[StaffUser] = ForeignKey(
        "StaffUser",
        null=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="The worker who keyed an interview or paper response; empty for residents' own.",
    )
    sheet = Varchar(
        length=32,
        null=True,
        default=None,
        help_text="Number written on a paper sheet, e.g. A-0137; unique per campaign, so a sheet counts once.",
    )
    status = Varchar(length=12, choices=ResponseStatus, default=ResponseStatus.counted, index=True)
    flags = JSONB(default=[], help_text='Fraud-signal codes that sent it to quarantine, e.g. ["burst", "clone"].')
    device_hash = Varchar(
        length=32,
        null=True,
        default=None,
        help_text="Keyed hash of the device cookie under the campaign's flag_key; never a raw address or agent.",
    )
    replaces: ForeignKey[Response] = ForeignKey(
        "self",
        null=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="The earlier answer of the same device that this revision supersedes.",
    )
    reviewed_by = Varchar(length=64, default="", help_text="Assessor's username who included or excluded it.")
    reviewed_at = Timestamptz(null=True, default=None)
    review_reason = Text(default="")


class Role(StrEnum):
    admin = "admin"  # the campaign office: everything
    worker = "worker"  # runs campaigns for one unit and its subtree
    assessor = "assessor"  # reads reports over their units (all by default)


class StaffUser(Table, tablename="staff_user"):
    """A community worker, assessor or administrator. Residents never have accounts."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    username = Varchar(length=64, unique=True, index=True)
    display_name = Varchar(length=100, default="")
    role = Varchar(length=12, choices=Role)
    unit = ForeignKey(
        Unit,
        null=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="Root of the subtree this account may see; empty means every unit (admins, most assessors).",
    )
    password_hash = Varchar(length=255, secret=True)
    active = Boolean(default=True)
    created_at = Timestamptz()  # default: now
    password_changed_at = Timestamptz()  # default: now


class AuditEntry(Table, tablename="audit_log"):
    """One staff action that changed data; rows are only appended, and each hashes its predecessor."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    at = Timestamptz()  # default: now
    actor = Varchar(length=64, help_text="Username, kept as text: entries outlive accounts.")
    action = Varchar(length=64)
    object_type = Varchar(length=32)
    object_id = Varchar(length=64)
    payload = Text(help_text="Canonical JSON of the entry (incl. before/after); what `hash` covers.")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)


class KeyingState(StrEnum):
    matched = "matched"  # the second keying agrees with the first item by item
    differs = "differs"  # they disagree; the first keying counts until a worker resolves it
    resolved = "resolved"  # a worker picked the right value of every differing item


class SecondKeying(Table, tablename="second_keying"):
    """A paper sheet keyed again by another worker, to check the counted response; never counted itself."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    response = ForeignKey(
        Response,
        null=False,
        unique=True,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.restrict,
        help_text="The sheet's counted response (its first keying); unique: a sheet is keyed at most twice.",
    )
    entered_by = ForeignKey(StaffUser, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    answers = JSONB(default={}, help_text="As keyed the second time; the response keeps the counted answers.")
    state = Varchar(length=8, choices=KeyingState)
    keyed_at = Timestamptz()  # default: now
    resolved_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    resolved_at = Timestamptz(null=True, default=None)


class Invitation(Table):
    """A one-time code printed for door-to-door visits or a closed panel; used at most once."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    code = Varchar(length=16, unique=True, index=True, help_text="Short code a resident types or scans.")
    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    batch = Varchar(length=32, default="", help_text="The printed sheet it belongs to.")
    created_at = Timestamptz()  # default: now
    used_at = Timestamptz(null=True, default=None)
    response = ForeignKey(
        Response,
        null=True,
        unique=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="The response it admitted; set in the same transaction that saves it.",
    )


class PaperSheet(Table, tablename="paper_sheet"):
    """A numbered paper questionnaire issued for one unit of a campaign; keyed at most once as a response."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    serial = Varchar(length=16, unique=True, index=True, help_text="8 random symbols and a check symbol.")
    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    number = Integer(help_text="Printed sheet number, 1, 2, … per campaign and unit: the issue order.")
    batch = Varchar(length=32, help_text="The print run it belongs to.")
    issued_by = Varchar(length=64, help_text="Username of who printed it, kept as text: sheets outlive accounts.")
    created_at = Timestamptz()  # default: now
    used_at = Timestamptz(null=True, default=None)
    response = ForeignKey(
        Response,
        null=True,
        unique=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="The response it was keyed as; set in the transaction that saves it.",
    )


class CaseState(StrEnum):
    """A bad rating's case (差评闭环); see survey_app/cases/workflow.py for the transitions."""

    new = "new"  # opened by the bad rating, waiting for the call-back
    verified = "verified"  # the unit called the resident back and confirmed the problem
    rectifying = "rectifying"  # being fixed (限期整改)
    resolved = "resolved"  # fixed (closed)
    explained = "explained"  # nothing to fix, explained to the resident (closed)
    excluded = "excluded"  # appeal upheld: a mistaken or malicious rating (closed)
    superseded = "superseded"  # the resident revised the rating; the revision's case carries on (closed)


class RatingCase(Table, tablename="rating_case"):
    """The case a bad rating opens for its unit; never deleted, closed by a state."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    response = ForeignKey(
        Response,
        null=False,
        unique=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="The bad rating; unique: a response opens at most one case.",
    )
    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    trigger = Varchar(length=64, help_text='What made it bad, e.g. "overall=1" or "reasons=integrity".')
    state = Varchar(length=12, choices=CaseState, default=CaseState.new, index=True)
    opened_at = Timestamptz()  # default: now
    verify_due = Timestamptz(help_text="End of the working day by which the resident is to be called back.")
    close_due = Timestamptz(help_text="End of the working day by which the case is to be resolved or explained.")
    due_estimated = Boolean(default=False, help_text="A deadline fell in a year the holiday calendar did not know.")
    contact_given_at = Timestamptz(null=True, default=None, help_text="When the resident left a number (kept).")
    verified_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    reply = Text(default="", help_text="The unit's reply, shown to the resident with the receipt code.")
    replied_at = Timestamptz(null=True, default=None)
    appeal = Varchar(length=12, default="", help_text="'' | pending | upheld | rejected")
    appeal_kind = Varchar(length=12, default="", help_text="mistaken | malicious")
    appeal_reason = Text(default="")
    appealed_by = Varchar(length=64, default="")
    appealed_at = Timestamptz(null=True, default=None)
    appeal_decision = Text(default="")
    decided_by = Varchar(length=64, default="")
    decided_at = Timestamptz(null=True, default=None)
    successor: ForeignKey[RatingCase] = ForeignKey(
        "self",
        null=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="The case of the revision that superseded this rating.",
    )


class CaseEvent(Table, tablename="case_event"):
    """One step of a case's timeline, as staff see it (the audit trail holds the same, hash-chained)."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    rating_case = ForeignKey(RatingCase, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    at = Timestamptz()  # default: now
    actor = Varchar(length=64, default="", help_text="Staff username; empty for the resident or the system.")
    kind = Varchar(length=16, help_text="opened, contact, a state, reply, appeal, upheld, rejected.")
    note = Text(default="")


class CaseContact(Table, tablename="case_contact"):
    """A phone number the resident left for the call-back: apart from the answers, deleted when the case closes."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    rating_case = ForeignKey(
        RatingCase, null=False, unique=True, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict
    )
    phone = Varchar(length=20, secret=True)
    created_at = Timestamptz()  # default: now


class PeriodStatus(StrEnum):
    open = "open"  # its league table is live: recomputed from the responses on every view
    closed = "closed"  # sealed: the league table is its latest snapshot, nothing changes it


class AssessmentPeriod(Table, tablename="assessment_period"):
    """One annual assessment (考核期) under one scheme, fixed when the period is created."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    slug = Varchar(length=63, unique=True, index=True)
    title = Varchar(length=200)
    title_en = Varchar(length=200, default="")
    scheme = Text(help_text="Canonical JSON of the validated scheme (schemes/README.md).")
    scheme_hash = Varchar(length=64, help_text="sha256 of `scheme`.")
    sources = Text(help_text="Canonical JSON {questionnaire slug: campaign slug}: the campaigns scored.")
    status = Varchar(length=8, choices=PeriodStatus, default=PeriodStatus.open)
    created_by = Varchar(length=64)
    created_at = Timestamptz()  # default: now
    closed_by = Varchar(length=64, default="")
    closed_at = Timestamptz(null=True, default=None)


class PeriodRoster(Table, tablename="period_roster"):
    """A unit as it was grouped when its assessment period opened. The league of the period reads this row,
    never the live unit, so a later change of kind or parent cannot move a unit out of (or into) a league."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    period = ForeignKey(AssessmentPeriod, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    kind = Varchar(length=16, choices=UnitKind, help_text="The unit's kind at opening: the league it is scored in.")
    parent = ForeignKey(Unit, null=True, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    population = Integer(null=True, default=None)


class AssessmentSnapshot(Table, tablename="assessment_snapshot"):
    """A sealed result of a period: number 1 at closing, each later one a correction with its reason.

    Manifest and result are Text, not JSONB: PostgreSQL's JSONB rewrites key order and spacing,
    and `minping assessment verify` compares them byte for byte.
    """

    id: Serial  # created by Piccolo; declared so type checkers see it

    period = ForeignKey(AssessmentPeriod, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    number = Integer(help_text="1 when the period closed; unique per period.")
    manifest = Text(help_text="Canonical JSON: scheme, data, questionnaire and code versions, seeds.")
    result = Text(help_text="Canonical JSON of the league tables.")
    manifest_hash = Varchar(length=64)
    result_hash = Varchar(length=64)
    data_hash = Varchar(length=64, help_text="sha256 over the exact responses used, in canonical order.")
    created_by = Varchar(length=64)
    created_at = Timestamptz()  # default: now
    reason = Text(default="", help_text="Why a correction was made; empty for the closing snapshot.")


class ApiToken(Table, tablename="api_token"):
    """A credential for another system (e.g. the 12345 hotline): scoped, expiring, revocable; only its hash is kept.

    The token is shown once when created: `mp_<prefix>_<secret>`. `prefix` finds the row; `secret_hash`
    is an HMAC of the whole token under the deployment's secret key, so a copy of the database alone
    does not let anyone use or test tokens.
    """

    id: Serial  # created by Piccolo; declared so type checkers see it

    name = Varchar(length=64, unique=True, help_text="Which system uses it, e.g. hotline-12345.")
    prefix = Varchar(length=16, unique=True, index=True, help_text="Public part of the token, to find it.")
    secret_hash = Varchar(length=64, secret=True, help_text="HMAC-SHA256 of the token under the secret key.")
    unit = ForeignKey(
        Unit,
        null=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="Root of the subtree the token may see and act on; empty means every unit.",
    )
    can_read = Boolean(default=True)
    writes = JSONB(default=[], help_text='Named write permissions, e.g. ["cases.callback", "cases.reply"].')
    minute_limit = Integer(default=120, help_text="Requests a minute (per token; shared by the workers with Redis).")
    created_by = Varchar(length=64)
    created_at = Timestamptz()  # default: now
    expires_at = Timestamptz()
    revoked_by = Varchar(length=64, default="")
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None, help_text="Approximate: updated at most once a minute.")


class ChangeEvent(Table, tablename="change_event"):
    """One insert or status change of a response, case or unit, in commit order: what the API's feeds page
    through (survey_app/changes.py). Written in the transaction of the change; only ever appended."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    tx = BigInt(default=0, help_text="PostgreSQL: the writing transaction's id (pg_current_xact_id); SQLite: 0.")
    kind = Varchar(length=8, help_text="response | case | unit")
    object_id = Integer()
    campaign = Integer(null=True, default=None, help_text="The object's campaign id (none for a unit).")
    unit = Integer(null=True, default=None, help_text="The object's unit id (a unit's own id): the feeds' scope.")
    status = Varchar(length=16, default="", help_text="The response's status or the case's state after the change.")
    change = Varchar(length=8, help_text="created | status | updated")
    at = Timestamptz()  # default: now


class PeriodicRun(Table, tablename="periodic_run"):
    """The last start of a periodic job across every node (survey_app/periodic.py)."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    name = Varchar(length=64, unique=True)
    started_at = Timestamptz(null=True, default=None)
    node = Varchar(length=200, default="", help_text="host:pid of the worker that started it")
    runs = Integer(default=0, help_text="How many times it was started, by any node.")


class Webhook(Table):
    """An address another system listens on for events (survey_app/webhooks.py), with its scope and cursor."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    name = Varchar(length=64, unique=True)
    url = Varchar(length=500, help_text="http(s) address the events are POSTed to.")
    events = JSONB(default=[], help_text='Event types, e.g. ["case.opened", "case.closed"].')
    unit = ForeignKey(
        Unit,
        null=True,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        help_text="Root of the subtree whose events it gets; empty means every unit (and periods).",
    )
    secret_nonce = Varchar(
        length=64, secret=True, help_text="With the secret key, derives the signing secret shown once at creation."
    )
    cursor_tx = BigInt(default=0, help_text="Position in the change sequence up to which events are queued.")
    cursor_id = BigInt(default=0)
    active = Boolean(default=True)
    created_by = Varchar(length=64)
    created_at = Timestamptz()  # default: now


class DeliveryState(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    delivered = "delivered"  # the receiver answered 2xx
    dead = "dead"  # gave up after the last attempt; an admin may redeliver it


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One event for one webhook: the outbox row the workers deliver, retry and, at last, dead-letter."""

    id: Serial  # created by Piccolo; declared so type checkers see it

    webhook = ForeignKey(Webhook, null=False, on_delete=OnDelete.restrict, on_update=OnUpdate.restrict)
    key = Varchar(length=64, unique=True, help_text="Idempotency key (X-Minping-Delivery): webhook and change event.")
    event_type = Varchar(length=32)
    payload = Text(help_text="The JSON body, fixed when the event was queued.")
    state = Varchar(length=10, choices=DeliveryState, default=DeliveryState.pending, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(help_text="When a worker may (re)try; a worker trying it moves this on first.")
    last_error = Text(default="")
    created_at = Timestamptz()  # default: now
    delivered_at = Timestamptz(null=True, default=None)
