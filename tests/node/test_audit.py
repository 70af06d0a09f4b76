"""The audit log's hash chain: an edited, a re-hashed or a deleted row shows; pruning stays checkable."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from sqlalchemy import text

from takeitdown.node.audit import AuditLog, _canonical, _hash
from takeitdown.node.db import Database
from takeitdown.node.users import SignInError, Users, check_secret


def _log(tmp_path: Path) -> tuple[Database, AuditLog]:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    log = AuditLog(db)
    for i in range(5):
        log.append("alice", "decision", f"review:{i}", f"reason {i}", {"decision": "remove"})
    return db, log


def test_an_intact_log_verifies_and_exports_with_its_hashes(tmp_path: Path) -> None:
    db, log = _log(tmp_path)
    assert log.verify().ok and log.verify().rows == 5
    rows = [json.loads(line) for line in log.export_jsonl()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"] and rows[0]["at"].endswith("+00:00")
    db.dispose()


def test_an_edited_row_shows(tmp_path: Path) -> None:
    db, log = _log(tmp_path)
    with db.write() as conn:
        conn.execute(text("UPDATE node_audit SET actor = 'mallory' WHERE seq = 3"))
    v = log.verify()
    assert not v.ok and v.first_bad == 3 and "hash" in (v.problem or "")
    db.dispose()


def test_a_row_edited_and_rehashed_still_shows_at_the_next_row(tmp_path: Path) -> None:
    db, log = _log(tmp_path)
    with db.write() as conn:
        r = conn.execute(text("SELECT * FROM node_audit WHERE seq = 2")).mappings().one()
        from datetime import datetime

        at = datetime.fromisoformat(str(r["at"]))
        forged = _hash(
            r["prev_hash"], _canonical(2, at, r["actor"], r["action"], r["subject"], "nothing", None)
        )
        conn.execute(
            text("UPDATE node_audit SET reason = 'nothing', details = NULL, row_hash = :h WHERE seq = 2"),
            {"h": forged},
        )
    v = log.verify()
    assert not v.ok and v.first_bad == 3
    db.dispose()


def test_deleted_rows_show_in_the_middle_and_at_the_end(tmp_path: Path) -> None:
    db, log = _log(tmp_path)
    with db.write() as conn:
        conn.execute(text("DELETE FROM node_audit WHERE seq = 5"))
    v = log.verify()
    assert not v.ok and "head" in (v.problem or "")
    with db.write() as conn:
        conn.execute(text("DELETE FROM node_audit WHERE seq = 3"))
    assert log.verify().first_bad == 4
    db.dispose()


def test_pruning_keeps_the_chain_checkable(tmp_path: Path) -> None:
    db, log = _log(tmp_path)
    with db.write() as conn:  # make the first three rows old
        conn.execute(text("UPDATE node_audit SET at = '2020-01-01 00:00:00.000000' WHERE seq <= 3"))
    # the edit itself breaks their hashes; pruning them away leaves a chain that checks again
    assert not log.verify().ok
    assert log.prune(30) == 3
    v = log.verify()
    assert v.ok, v
    assert log.rows(limit=10)[-1]["action"] == "audit.pruned"
    db.dispose()


def test_rows_deleted_at_the_start_show(tmp_path: Path) -> None:
    # Nothing was ever pruned, so the log must start at row 1 from the genesis value.
    db, log = _log(tmp_path)
    with db.write() as conn:
        conn.execute(text("DELETE FROM node_audit WHERE seq <= 2"))
    v = log.verify()
    assert not v.ok and v.first_bad == 3 and "start" in (v.problem or "")
    db.dispose()


def test_after_pruning_rows_deleted_at_the_start_still_show(tmp_path: Path) -> None:
    db, log = _log(tmp_path)
    with db.write() as conn:
        conn.execute(text("UPDATE node_audit SET at = '2020-01-01 00:00:00.000000' WHERE seq <= 2"))
    assert log.prune(30) == 2
    for i in range(3):
        log.append("bob", "decision", f"review:{10 + i}", "later", None)
    assert log.verify().ok  # rows 3..9: the chain starts at the anchor the prune recorded
    pruned = log.rows(action="audit.pruned")[0]["details"]
    assert pruned["through"] == 2 and len(pruned["anchor"]) == 64
    with db.write() as conn:
        conn.execute(text("DELETE FROM node_audit WHERE seq = 3"))
    v = log.verify()
    assert not v.ok and v.first_bad == 4 and "start" in (v.problem or "")
    db.dispose()


def test_the_housekeeper_prunes_while_the_node_runs(tmp_path: Path) -> None:
    from takeitdown.node.housekeeping import Housekeeper

    db, log = _log(tmp_path)
    calls: list[str] = []

    def broken() -> int:
        calls.append("broken")
        raise RuntimeError("a failing job does not stop the others")

    keeper = Housekeeper([("broken", broken), ("audit", lambda: log.prune(30))], interval=0.05)
    keeper.start()
    try:
        import time

        deadline = time.time() + 10
        while keeper.runs < 2 and time.time() < deadline:
            time.sleep(0.02)
        assert keeper.runs >= 2 and calls.count("broken") >= 2  # it runs again and again
        with db.write() as conn:  # rows that age while the node runs
            conn.execute(text("UPDATE node_audit SET at = '2020-01-01 00:00:00.000000' WHERE seq <= 4"))
        while not log.rows(action="audit.pruned") and time.time() < deadline:
            time.sleep(0.02)
    finally:
        keeper.stop()
    assert [r["seq"] for r in log.rows()] == [5, 6] and log.verify().ok
    db.dispose()


def test_accounts_keep_secrets_hashed_and_lock_after_failures(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    users = Users(db, max_failures=3, lockout_minutes=10)
    user, secret = users.add("alice", "reviewer")
    with db.read() as conn:
        stored = conn.execute(text("SELECT secret_hash FROM node_users")).scalar_one()
    assert secret not in stored and stored.startswith("scrypt$") and check_secret(secret, stored)
    assert users.check("alice", secret).name == "alice"
    assert users.from_token(secret) == user
    for _ in range(3):
        try:
            users.check("alice", "wrong")
        except SignInError as e:
            last = e
    assert last.locked
    try:
        users.check("alice", secret)  # the right secret does not open a locked account
        raise AssertionError("a locked account signed in")
    except SignInError as e:
        assert e.locked
    cookie, session = users.open_session(user)
    assert users.session(cookie) is not None and users.session("x" + cookie) is None
    users.set_disabled("alice")
    assert users.session(cookie) is None and users.from_token(secret) is None
    db.dispose()


def test_wrong_tokens_never_lock_the_account_they_name(tmp_path: Path) -> None:
    # The attack: ids are sequential and a token reads u<id>.<secret>, so anyone could send
    # wrong tokens for u1, u2, ... and lock every reviewer out of the console.
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    users = Users(db, max_failures=3, lockout_minutes=10)
    user, secret = users.add("alice", "reviewer")
    for i in range(10):
        assert users.from_token(f"u{user.id}.wrong-secret-guess-{i:04d}") is None
    assert users.list()[0]["locked"] is False
    assert users.check("alice", secret).name == "alice"  # the console sign-in still works
    assert users.from_token(secret) == user
    # and only a recently verified token passes without a check (what a client over its limit gets)
    other, other_secret = users.add("bob", "reviewer")
    assert users.from_token(other_secret, verify=False) is None
    assert users.from_token(secret, verify=False) == user
    db.dispose()


def test_an_unknown_name_costs_what_a_wrong_secret_costs(tmp_path: Path) -> None:
    # Timing must not tell which sign-in names exist: both ways cost one scrypt check.
    import statistics
    import time

    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    users = Users(db, max_failures=1000)
    users.add("alice", "reviewer")

    def timed(name: str) -> float:
        started = time.perf_counter()
        with contextlib.suppress(SignInError):
            users.check(name, "a wrong secret")
        return time.perf_counter() - started

    timed("nobody")  # the first unknown name makes the stand-in hash once
    known, unknown = [], []
    for _ in range(9):  # interleaved, so load on the machine hits both alike
        known.append(timed("alice"))
        unknown.append(timed("nobody"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.7 < ratio < 1.4, (ratio, known, unknown)  # before the fix: about 2 (two scrypts)
    db.dispose()
