"""Separation of duties: a campaign says what happens to answers its rated units' own staff enter.

`hold` (the default, also for existing campaigns): saved but held in quarantine with the flag `inside_entry`
until someone outside the unit's subtree confirms them; `refuse`: not taken (survey_app/duties.py).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-04T18:52:10:725856"
VERSION = "1.38.0"
DESCRIPTION = "campaign.inside_entry"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="survey_app", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Campaign",
        tablename="campaign",
        column_name="inside_entry",
        db_column_name="inside_entry",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 8,
            "default": "hold",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": Enum("InsideEntry", {"hold": "hold", "refuse": "refuse"}),
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
