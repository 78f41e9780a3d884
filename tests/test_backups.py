"""`minping backup` and `minping restore`: a copy restored elsewhere verifies exactly as the original."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from survey_app.settings import get_settings


@pytest.fixture
def elsewhere(tmp_path):
    """The environment of an empty database beside the test database (another file, or another PostgreSQL database)."""
    settings = get_settings()
    env = {"MINPING_DATA_DIR": str(tmp_path / "data")}
    if not settings.is_postgres:
        env["MINPING_DATABASE_URL"] = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        yield env
        return
    server, name = settings.database_url.rsplit("/", 1)
    copy = f"{name}_restored"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(f"{server}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{copy}"'))
    asyncio.run(admin(f'CREATE DATABASE "{copy}"'))
    env["MINPING_DATABASE_URL"] = f"{server}/{copy}"
    yield env
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))


def test_a_restored_backup_verifies_identically(cli, demo_city, elsewhere, tmp_path):
    created = cli("assessment", "create", "y2026", "--scheme", "civilized-city-2026", "--title", "2026 年度考核")
    assert created.returncode == 0, created.stderr
    assert cli("assessment", "close", "y2026").returncode == 0
    original = cli("assessment", "verify", "y2026")
    original_audit = cli("audit", "verify")
    assert original.returncode == 0 and original_audit.returncode == 0

    file = tmp_path / "minping.backup"
    made = cli("backup", str(file))
    assert made.returncode == 0, made.stderr
    assert file.stat().st_size > 100_000
    refused = cli("backup", str(file))
    assert refused.returncode != 0 and "exists already" in refused.stderr

    restored = cli("restore", str(file), env=elsewhere)
    assert restored.returncode == 0, restored.stderr
    verified = cli("assessment", "verify", "y2026", env=elsewhere)
    assert (verified.returncode, verified.stdout) == (0, original.stdout)
    assert cli("audit", "verify", env=elsewhere).stdout == original_audit.stdout  # same chain, same head

    again = cli("restore", str(file), env=elsewhere)
    assert again.returncode != 0 and "--replace" in again.stderr
    assert cli("restore", str(file), "--replace", env=elsewhere).returncode == 0


def test_restore_refuses_a_file_of_the_wrong_kind(cli, world, tmp_path):
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not a backup")
    refused = cli("restore", str(wrong))
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "is not a" in refused.stderr
    if not get_settings().is_postgres:
        other = tmp_path / "other.sqlite3"
        sqlite3.connect(other).close()
        other.write_bytes(b"garbage")
        assert cli("restore", str(other)).returncode != 0
