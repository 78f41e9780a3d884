"""Every link gets a short code a person can type from a poster (`/k/7K4M-2QX9`); its token stays.

The QR code keeps the link's 24-character token, so printed posters and shared links keep working;
the code is another way to the same link for someone who types the address. Existing links get a
random code here; new ones when they are made (survey_app/campaigns.py: new_link). A unique index
rather than a unique column, which SQLite cannot add to a table that exists.
"""

import secrets

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-04T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "link short codes"
# A receipt code's shape (no 0/O, 1/I/L), frozen here: the app's own (receipts.ALPHABET) may change
# without changing what this migration did.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


class Link(Table, tablename="link", schema=None):
    short_code = Varchar(length=16, null=True, default=None)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="survey_app", description=DESCRIPTION)

    async def give_codes() -> None:
        # Piccolo runs a migration's raw steps before its other operations, so the column is added here.
        engine = engine_finder()
        await engine.run_ddl('ALTER TABLE "link" ADD COLUMN "short_code" VARCHAR(16) NULL DEFAULT NULL')
        taken: set[str] = set()
        for row in await Link.select(Link.id).where(Link.short_code.is_null()):
            code = ""
            while not code or code in taken:
                code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
            taken.add(code)
            await Link.update({Link.short_code: code}).where(Link.id == row["id"])
        await engine.run_ddl('CREATE UNIQUE INDEX link_short_code ON "link" ("short_code")')

    manager.add_raw(give_codes)
    return manager
