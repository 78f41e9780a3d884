"""The audit trail: actions append chained entries, and any tampering is found and located."""

from __future__ import annotations

import copy
import random

import pytest

from survey_app import accounts, audit
from survey_app.tables import AuditEntry, Role

TRIALS = 1000


@pytest.fixture
def chain(run, world) -> list[dict]:
    for n in range(12):
        run(audit.record, "admin", "unit.update", "unit", n, before={"name": f"旧{n}"}, after={"name": f"新{n}"})

    async def rows() -> list[dict]:
        return await AuditEntry.select().order_by(AuditEntry.id)

    return run(rows)


def test_actions_append_entries_that_verify(run, chain):
    check = run(audit.verify)
    assert check.ok and check.entries == len(chain) == 13 and check.head == chain[-1]["hash"]  # 12 + the campaign
    assert chain[0]["prev_hash"] == audit.GENESIS
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(chain, chain[1:], strict=False))


def test_creating_an_account_is_audited_without_the_password(run, world):
    run(accounts.create, "wang", Role.worker, "a long password", unit_code="331102-01", actor="cli")
    [entry] = [e for e in run(audit.recent) if e["object_type"] == "user"]
    assert (entry["actor"], entry["action"], entry["object_type"]) == ("cli", "user.create", "user")
    assert entry["after"] == {"username": "wang", "role": "worker", "unit": "331102-01", "display_name": ""}
    assert "password" not in str(entry)


def _tamper(rows: list[dict], rng: random.Random) -> tuple[list[dict], int]:
    """Apply one random kind of tampering; return the rows and the index of the first affected row."""
    rows = copy.deepcopy(rows)
    i = rng.randrange(len(rows) - 1)
    kind = rng.choice(["edit_payload", "edit_column", "delete", "swap", "insert", "rehash_one"])
    if kind == "edit_payload":
        rows[i]["payload"] = rows[i]["payload"].replace('"at":"', '"at":"1', 1)
    elif kind == "edit_column":
        rows[i]["actor"] = "someone-else"
    elif kind == "delete":
        del rows[i]
    elif kind == "swap":
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
    elif kind == "insert":
        forged = dict(rows[i], id=10_000, payload=rows[i]["payload"].replace('"at":"', '"at":"9', 1))
        forged["hash"] = audit.entry_hash(forged["prev_hash"], forged["payload"])  # a locally valid forgery
        rows.insert(i + 1, forged)
        return rows, i + 1
    else:  # edit one entry and recompute its own hash: the next entry no longer follows it
        rows[i]["payload"] = rows[i]["payload"].replace('"at":"', '"at":"1', 1)
        rows[i]["hash"] = audit.entry_hash(rows[i]["prev_hash"], rows[i]["payload"])
        return rows, i + 1
    return rows, i


def test_random_tampering_is_always_detected_at_the_right_entry(chain):
    rng = random.Random(20261124)
    for _ in range(TRIALS):
        tampered, first_bad = _tamper(chain, rng)
        check = audit.check_chain(tampered)
        assert not check.ok
        assert check.first_broken == tampered[first_bad]["id"]


def test_verify_command_names_the_first_broken_entry(run, chain, cli):
    assert cli("audit", "verify").stdout.startswith("audit chain ok: 13 entries, head ")

    async def edit() -> None:
        await AuditEntry.update({AuditEntry.payload: chain[4]["payload"].replace("新", "改")}).where(
            AuditEntry.id == chain[4]["id"]
        )

    run(edit)
    result = cli("audit", "verify")
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: audit chain broken at entry {chain[4]['id']}: "
        "its content does not match its hash (the entry was edited)\n"
    )
