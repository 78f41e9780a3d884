"""Issue 12, item 8: the data folder's files are the owner's alone, and /r is throttled per address."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess

import pytest

from survey_app.sqlite_pool import keep_private
from survey_app.web import flood_guard
from tests.conftest import MINPING
from tests.servers import clean_environment


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fresh_sqlite_database_and_its_wal_are_readable_by_the_owner_only(tmp_path):
    """minping.sqlite3 and its WAL were 644 (the secret key was 600): anyone on the machine could copy every answer."""
    data = tmp_path / "data"
    env = clean_environment() | {"MINPING_DATA_DIR": str(data), "MINPING_SECRET_KEY": "k"}
    result = subprocess.run(
        [str(MINPING), "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False, umask=0o022
    )
    assert result.returncode == 0, result.stderr
    database = data / "minping.sqlite3"
    assert mode(data) == 0o700 and mode(database) == 0o600
    with sqlite3.connect(database) as connection:  # another process writing makes the -wal and -shm files
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS t (x)")
        connection.execute("INSERT INTO t VALUES (1)")
        assert mode(f"{database}-wal") == 0o600 and mode(f"{database}-shm") == 0o600
    assert all(mode(p) == 0o600 for p in data.iterdir() if p.is_file()), {p.name: oct(mode(p)) for p in data.iterdir()}


def test_an_older_database_that_others_can_read_is_tightened(tmp_path):
    database = tmp_path / "minping.sqlite3"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    (tmp_path / "minping.sqlite3-wal").write_bytes(b"")
    (tmp_path / "minping.sqlite3-wal").chmod(0o664)
    keep_private(database)
    assert mode(database) == 0o600 and mode(tmp_path / "minping.sqlite3-wal") == 0o600


def test_receipt_lookups_are_throttled_per_address_with_the_code_kept(client, world):
    """/r was not throttled at all: the receipt code is the only key to a case's state."""
    for n in range(flood_guard.LOOKUPS_PER_MINUTE):
        assert client.get(f"/r?code=ABCD{n:04d}").status_code == 404
    over = client.get("/r?code=WXYZ2345")
    assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 60
    assert "查询太频繁" in over.text and 'value="WXYZ2345"' in over.text
    assert "Too many lookups" in client.get("/r?code=WXYZ2345&lang=en").text
    assert client.get("/r").status_code == 200  # the empty page looks nothing up and is never refused


@pytest.mark.parametrize("query", ["", "lang=en"])
def test_the_receipt_page_without_a_code_is_not_counted(client, query):
    for _ in range(flood_guard.LOOKUPS_PER_MINUTE + 1):
        assert client.get(f"/r?{query}").status_code == 200
