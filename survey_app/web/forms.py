"""The resident's form as HTML: its context, the blank pages rendered once per worker, the question list,
and the hints and CSS of conditional items. The staff entry pages extend the same template."""

from __future__ import annotations

import re
import secrets
from typing import Any

from jinja2 import Environment
from litestar import Request
from litestar.enums import MediaType
from litestar.response import Response, Template
from markupsafe import Markup

from survey_app import responses
from survey_app.campaigns import PublicLink
from survey_app.i18n import current_language
from survey_app.questionnaires.format import Questionnaire, localise
from survey_app.responses import FieldError
from survey_app.web import security
from survey_app.web.common import large_type

FORM_TOKEN_FIELD = "_form"
# Underscored like the form token: questionnaire item ids cannot start with "_".
INVITATION_FIELD = "_invite"
REVISE_FIELD = "_revise"


class BlankForms:
    """Blank form pages, each rendered once per worker and filled in per request.

    A blank form (no earlier answer, no invitation code typed in) is what every resident scanning a
    code gets, and it is the same for everyone who opens the same address in the same language but
    for two values: the signed form token and the CSP nonce. So it is rendered once, with a marker
    in place of each, split at the markers, and each request joins the pieces with its own token
    and nonce (both of characters that need no escaping). The key holds everything else the page
    depends on: the link as resolved for this request (so a renamed unit or a changed campaign is a
    new key), the language, the text size (大字版), the address and the questionnaire (kept in the
    entry, so its `id()` cannot be reused meanwhile). Stored questionnaire versions and templates do not change while a
    worker runs; with templates reloading (debug), nothing is kept.
    """

    TEMPLATE = "public/form.html"
    MAX_PAGES = 1024

    def __init__(self) -> None:
        self._pages: dict[tuple[Any, ...], tuple[Questionnaire, list[str]]] = {}
        self._token, self._nonce = f"minpingformtoken{secrets.token_hex(8)}", f"minpingnonce{secrets.token_hex(8)}"
        self._markers = re.compile(f"({self._token}|{self._nonce})")

    def page(self, request: Request[Any, Any, Any], link: PublicLink, questionnaire: Questionnaire) -> Response[str]:
        path = request.scope.get("root_path", "") + request.scope["path"]
        key = (link, current_language.get(), large_type(request), path, id(questionnaire))
        entry = self._pages.get(key)
        if entry is None or entry[0] is not questionnaire:
            parts = self._markers.split(self._render(request, link, questionnaire))
            if request.app.template_engine.engine.auto_reload:  # type: ignore[union-attr]
                entry = (questionnaire, parts)
            else:
                if len(self._pages) >= self.MAX_PAGES:
                    self._pages.clear()
                entry = self._pages[key] = (questionnaire, parts)
        fill = {self._token: responses.mint_form_token(link.token), self._nonce: security.current_nonce.get()}
        return Response("".join([fill.get(part, part) for part in entry[1]]), media_type=MediaType.HTML)

    def _render(self, request: Request[Any, Any, Any], link: PublicLink, questionnaire: Questionnaire) -> str:
        """The page as `_form_page` would render it, with the markers for the token and the nonce."""
        context = form_context(link, questionnaire, {INVITATION_FIELD: ""}, {}, form_token=self._token)
        context["revising"] = False
        template = Template(self.TEMPLATE, context=context)
        nonce = security.current_nonce.set(self._nonce)
        try:
            jinja = request.app.template_engine.get_template(self.TEMPLATE)  # type: ignore[union-attr]
            return str(jinja.render(**template.create_template_context(request)))
        finally:
            security.current_nonce.reset(nonce)


BLANK_FORMS = BlankForms()


def form_context(
    link: PublicLink,
    questionnaire: Questionnaire,
    posted: dict[str, Any],
    errors: dict[str, FieldError],
    *,
    form_token: str | None = None,
    notice: FieldError | None = None,
) -> dict[str, Any]:
    """What `public/form.html` needs; staff entry pages extend that template with the same context."""
    return {
        "link": link,
        "q": questionnaire,
        "raw": {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in posted.items()},
        "errors": errors,
        "hints": condition_hints(questionnaire, current_language.get()),
        "condition_css": condition_css(questionnaire),
        "notice": notice,
        "form_token": form_token or responses.mint_form_token(link.token),
        "form_token_field": FORM_TOKEN_FIELD,
        # The invitation code field, when the campaign asks for one (kept as typed, or from ?code=).
        "invitation": str(posted.get(INVITATION_FIELD, "")) if link.invitation_only else None,
        "invitation_field": INVITATION_FIELD,
        "revising": False,
        "revise_field": REVISE_FIELD,
    }


class QuestionList:
    """The template global `question_list(q, raw, errors, hints)`: the form's questions as HTML.

    The questions are most of the work of rendering a form (a few hundred macro calls and escapes),
    and a blank one (no answers, no errors), which is what every resident scanning a code gets,
    depends only on the questionnaire and the language: `hints` is always `condition_hints(q, lang)`.
    So a blank form's questions are rendered once per questionnaire and language in each process
    and reused; forms with answers or errors are rendered each time. Stored questionnaire versions
    never change (survey_app/questionnaires/versions.py). An entry keeps its questionnaire object, so the
    `id()` it is filed under cannot be reused by another object while it is there. With templates
    reloading (debug), nothing is kept.
    """

    TEMPLATE = "public/_question_list.html"
    MAX_QUESTIONNAIRES = 64

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._blank: dict[int, tuple[Questionnaire, dict[str, Markup]]] = {}

    def __call__(
        self, q: Questionnaire, raw: dict[str, list[str]], errors: dict[str, FieldError], hints: dict[str, Any]
    ) -> Markup:
        if errors or self.env.auto_reload or any(item.id in raw for item in q.items):
            return self._render(q, raw, errors, hints)
        entry = self._blank.get(id(q))
        if entry is None:
            if len(self._blank) >= self.MAX_QUESTIONNAIRES:
                self._blank.clear()
            entry = self._blank[id(q)] = (q, {})
        lang = current_language.get()
        html = entry[1].get(lang)
        if html is None:
            html = entry[1][lang] = self._render(q, {}, {}, hints)
        return html

    def _render(self, q: Questionnaire, raw: dict[str, list[str]], errors: dict[str, FieldError], hints: Any) -> Markup:
        return Markup(self.env.get_template(self.TEMPLATE).render(q=q, raw=raw, errors=errors, hints=hints))


def condition_hints(q: Questionnaire, lang: str) -> dict[str, tuple[int, str]]:
    """For each conditional item: the number of the item it depends on, and the answers that show it."""
    number = {item.id: n for n, item in enumerate(q.items, start=1)}
    hints = {}
    for item in q.items:
        if item.show_if is None:
            continue
        target = q.item(item.show_if.item)
        labels = q.labels_of(target)
        shown = "”/“".join(localise(labels[v], lang) for v in item.show_if.values if v in labels)
        hints[item.id] = (number[target.id], shown)
    return hints


def condition_css(q: Questionnaire) -> Markup:
    """CSS that hides a conditional item until its condition holds, with no JavaScript.

    Browsers without `:has()` ignore the rule and show the item with its hint, which still works.
    Names and values are safe to write unquoted by construction: ids and option values are limited
    to [A-Za-z0-9_-] by the questionnaire format, and level values are integers.
    """
    rules = []
    for item in q.items:
        if item.show_if is None:
            continue
        choices = ",".join(
            f'[name="{item.show_if.item}"][value="{_form_value(v)}"]:checked' for v in item.show_if.values
        )
        rules.append(f"form:not(:has({choices})) #q-{item.id}{{display:none}}")
    return Markup("\n".join(rules))


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
