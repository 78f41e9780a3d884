"""The one wiring point: `create_app()` builds the Litestar application."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import NotAuthorizedException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from survey_app import counters, db, i18n, localtime, quarantine, webhooks
from survey_app.privacy import mask_text
from survey_app.questionnaires.format import localise
from survey_app.settings import TEMPLATES_DIR, get_settings
from survey_app.web import api, auth, flood_guard, security, stores
from survey_app.web.assessments import AssessmentController
from survey_app.web.auth import AuthController
from survey_app.web.campaigns import CampaignController
from survey_app.web.cases import CaseController
from survey_app.web.common import CAMPAIGN_STATUS_LABELS, large_type, mapping_name, path_ids_in_range
from survey_app.web.entries import EntryController
from survey_app.web.exports import ResponseExportController, ScoreExportController
from survey_app.web.forms import QuestionList
from survey_app.web.invitations import InvitationController
from survey_app.web.pages import error_page, favicon, home, short_code, switch_language, switch_text_size, type_code
from survey_app.web.paper_sheets import PaperSheetController
from survey_app.web.public import PublicController
from survey_app.web.questionnaires import QuestionnaireController
from survey_app.web.receipts import CallbackController, receipt_status
from survey_app.web.reports import ReportController
from survey_app.web.reviews import ReviewController
from survey_app.web.staff import StaffController
from survey_app.web.tokens import TokenController
from survey_app.web.units import UnitController
from survey_app.web.webhooks import WebhookController

# The largest honest form (25 long answers of 2,000 characters, 3 bytes each, percent-encoded) stays
# well below this; anything bigger is refused before it is parsed.
MAX_BODY_BYTES = 512 * 1024

# Resident forms are anonymous: there is no session a forged request could ride. Their integrity is
# carried by the signed form token instead, so a resident whose cookie expired never loses answers.
CSRF_EXEMPT = ["^/q/"]


def template_environment() -> Environment:
    """Jinja with autoescaping, strict undefined names, gettext and our filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=get_settings().debug,  # no stat() of every template file on every page in production
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["t"] = lambda text: localise(text, i18n.current_language.get())
    env.filters["local_time"] = localtime.format_local  # every time shown is on the city's clock
    env.filters["last_day"] = localtime.last_day
    env.filters["mask"] = lambda value: mask_text(str(value))  # staff see free text through privacy.py
    env.globals.update(i18n.template_callables())
    env.globals["csp_nonce"] = security.current_nonce.get
    env.globals["question_list"] = QuestionList(env)
    env.globals["large_type"] = large_type
    # Words that mean one thing everywhere: campaign states, fraud-flag names, index mappings.
    env.globals["campaign_status_labels"] = CAMPAIGN_STATUS_LABELS
    env.globals["flag_names"] = quarantine.FLAG_NAMES
    env.globals["mapping_name"] = mapping_name
    env.globals["time_zone"] = localtime.zone_label  # the city's, named wherever times are shown
    settings = get_settings()
    env.globals["poster_contact"] = {"organiser": settings.organiser, "hotline": settings.hotline}
    return env


def any_error(request: Request[Any, Any, Any], exc: Exception) -> Any:
    """Errors outside a route (unknown path, wrong method): JSON under /api/, a page elsewhere."""
    if request.url.path.startswith(api.PREFIX + "/"):
        return api.api_error(request, exc)
    return error_page(request, exc)


def create_app() -> Litestar:
    """Build the application from the settings."""
    settings = get_settings()
    return Litestar(
        route_handlers=[
            home,
            type_code,
            short_code,
            switch_language,
            switch_text_size,
            favicon,
            PublicController,
            AuthController,
            StaffController,
            ReportController,
            ReviewController,
            CampaignController,
            InvitationController,
            PaperSheetController,
            EntryController,
            UnitController,
            QuestionnaireController,
            CaseController,
            CallbackController,
            receipt_status,
            ResponseExportController,
            ScoreExportController,
            api.router(),
            AssessmentController,
            TokenController,
            WebhookController,
        ],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(template_environment())),
        middleware=[
            security.security_headers_middleware,
            i18n.language_middleware,
            security.refuse_nul_middleware,
            security.allowed_hosts_middleware,
            flood_guard.resident_flood_guard(settings.resident_posts_per_minute),
        ],
        on_app_init=[auth.session_auth().on_app_init],
        stores=stores.make_stores(),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="minping_csrf",
            cookie_secure=(settings.public_base_url or "").startswith("https://"),
            exclude=CSRF_EXEMPT,
        ),
        guards=[path_ids_in_range],
        exception_handlers={NotAuthorizedException: auth.to_login, Exception: any_error},
        lifespan=[db.lifespan, counters.lifespan, quarantine.lifespan, stores.lifespan, webhooks.lifespan],
        # A 20 KB form page shrinks to about 4 KB: what matters on a weak mobile signal. PNGs are
        # compressed already.
        compression_config=CompressionConfig(backend="gzip", gzip_compress_level=6, exclude=r"\.png$"),
        # Only the JSON API is in the schema (every page sets include_in_schema=False); it is served
        # as JSON alone: a browsable UI would need scripts, which the CSP forbids.
        openapi_config=OpenAPIConfig(
            title="Minping API",
            version="1",
            path=api.SCHEMA_PATH,
            render_plugins=[JsonRenderPlugin()],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        debug=settings.debug,
    )
