"""The HTTP layer: every controller, middleware and store of the web app, wired by `survey_app.app`.

Controllers are thin: parse the request, call one domain function, return a template or a redirect.
Access is declared with guards (`auth.requires`) and dependencies (`common`), never checked by hand.

- `public` (the resident's form), `receipts` (call-back number, receipt lookup), `pages` (home,
  language switch, errors), `forms` (the form's HTML, shared with the staff entry pages);
- `auth` (sign-in, sessions, guards), `staff` (back-office home), `campaigns`, `invitations`,
  `entries`, `units`, `questionnaires`, `cases`, `reviews`;
- `reports`, `exports`, `assessments` (what assessors read and download), `api` (JSON);
- `common` (what controllers share), `security`, `flood_guard` and `stores` (middleware and stores).
"""
