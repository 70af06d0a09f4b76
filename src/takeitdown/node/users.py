"""Reviewer and admin accounts, console sessions, and per-user API tokens.

A user's secret is shown once, when the account is made, and kept as a salted scrypt hash (a
slow key derivation: a stolen database does not give the secrets away). The secret reads
`u<id>.<random>`, so a token names its account and one scrypt check verifies it; verified tokens
are remembered for a minute (keyed by their SHA-256) so API calls do not pay scrypt each time.
The same secret signs in to the console; a run of failed sign-ins locks the account a while.
Only sign-ins count towards that lock, never a failed bearer token (the API rate-limits those per
client), and an unknown name costs the same one scrypt check as a wrong secret.

Console sessions: a random cookie (its SHA-256 stored), a CSRF token for every state-changing
call, an expiry. Disabling an account ends its sessions and tokens at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from takeitdown.node.db import Database
from takeitdown.node.schema import sessions, users

ROLES = ("reviewer", "desk", "admin")  # desk: a reviewer who also handles legal requests
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 16 MB and tens of ms a check
TOKEN_CACHE_SECONDS = 60.0
TOKEN_RE = re.compile(r"^u(\d{1,12})\.[A-Za-z0-9_-]{16,64}$")  # a per-user token: u<id>.<secret>


def is_user_token(token: str) -> bool:
    """Shaped like a per-user token (checking one may cost a scrypt; anything else costs nothing)."""
    return TOKEN_RE.match(token) is not None


class UserError(ValueError):
    """A bad account request (clear message for the CLI and the API)."""


class SignInError(Exception):
    def __init__(self, locked: bool, detail: str) -> None:
        super().__init__(detail)
        self.locked = locked
        self.detail = detail


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def handles_legal_requests(self) -> bool:
        """The TAKE IT DOWN desk shows requesters' names and contacts: desk and admin roles only."""
        return self.role in ("desk", "admin")


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: datetime


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **SCRYPT)
    return "scrypt$%d$%d$%d$%s$%s" % (  # noqa: UP031 - a fixed format
        SCRYPT["n"],
        SCRYPT["r"],
        SCRYPT["p"],
        base64.b64encode(salt).decode(),
        base64.b64encode(dk).decode(),
    )


def check_secret(secret: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, dk = stored.split("$")
        want = base64.b64decode(dk)
        got = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), dklen=len(want), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A stored-hash stand-in for names that do not exist, made once (a sign-in for an unknown
    name costs one scrypt, like a wrong secret for a known one, so timing does not tell names)."""
    if not _DUMMY:
        _DUMMY.append(hash_secret(secrets.token_urlsafe(16)))
    return _DUMMY[0]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=UTC))


def _user(r: Any) -> User:
    return User(int(r.id), r.name, r.role, bool(r.disabled))


class Users:
    def __init__(
        self,
        db: Database,
        session_minutes: float = 480.0,
        max_failures: int = 5,
        lockout_minutes: float = 15.0,
    ) -> None:
        self.db = db
        self.session_minutes = session_minutes
        self.max_failures = max_failures
        self.lockout_minutes = lockout_minutes
        self._tokens: dict[str, tuple[int, float]] = {}  # sha256(token) -> (user id, valid until)
        self._lock = threading.Lock()

    # -- accounts -------------------------------------------------------------------------------
    def add(self, name: str, role: str) -> tuple[User, str]:
        """Make an account; returns it and its secret (shown once, never stored in clear)."""
        if not NAME_RE.match(name):
            raise UserError(
                "a user name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        with self.db.write() as conn:
            if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
                raise UserError(f"there is already a user called {name!r}")
            res = conn.execute(
                insert(users).values(
                    name=name,
                    role=role,
                    secret_hash="pending",
                    disabled=False,
                    failed=0,
                    locked_until=None,
                    created_at=_now(),
                )
            )
            key = res.inserted_primary_key
            assert key is not None
            uid = int(key[0])
            secret = f"u{uid}.{secrets.token_urlsafe(24)}"
            conn.execute(update(users).where(users.c.id == uid).values(secret_hash=hash_secret(secret)))
        return User(uid, name, role), secret

    def list(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(users).order_by(users.c.id)).all()
        now = _now()
        return [
            {
                "name": r.name,
                "role": r.role,
                "disabled": bool(r.disabled),
                "locked": bool(r.locked_until and _aware(r.locked_until) > now),  # type: ignore[operator]
                "created_at": _aware(r.created_at).isoformat(),  # type: ignore[union-attr]
            }
            for r in rows
        ]

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        with self.db.write() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
            if row is None:
                raise UserError(f"no user called {name!r}")
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(disabled=disabled, failed=0, locked_until=None)
            )
            if disabled:
                conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
        with self._lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v[0] != row.id}
        return User(int(row.id), row.name, row.role, disabled)

    def get(self, name: str) -> User | None:
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def _by_id(self, uid: int) -> Any:
        with self.db.read() as conn:
            return conn.execute(select(users).where(users.c.id == uid)).first()

    # -- secrets: sign-in and bearer tokens -------------------------------------------------------
    def check(self, name: str, secret: str) -> User:
        """A sign-in: the account if name and secret fit; SignInError otherwise (locks after a run)."""
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            check_secret(secret, _dummy_hash())  # one scrypt, as for a name that exists
            raise SignInError(False, "That name and secret do not match an active account.")
        return self._check_row(row, secret)

    def _check_row(self, row: Any, secret: str) -> User:
        now = _now()
        locked = _aware(row.locked_until)
        if locked is not None and locked > now:
            raise SignInError(True, "This account is locked after too many failed sign-ins; try again later.")
        ok = check_secret(secret, row.secret_hash) and not row.disabled
        with self.db.write() as conn:
            if ok:
                conn.execute(update(users).where(users.c.id == row.id).values(failed=0, locked_until=None))
                return _user(row)
            failed = int(row.failed) + 1
            values: dict[str, Any] = {"failed": failed}
            if failed >= self.max_failures:
                values = {"failed": 0, "locked_until": now + timedelta(minutes=self.lockout_minutes)}
            conn.execute(update(users).where(users.c.id == row.id).values(**values))
        if "locked_until" in values:
            raise SignInError(True, "Too many failed sign-ins: this account is locked for a while.")
        raise SignInError(False, "That name and secret do not match an active account.")

    def from_token(self, token: str, verify: bool = True) -> User | None:
        """The active account a bearer token belongs to, or None.

        A failed token never counts towards the account's sign-in lock (anyone can send
        `u<id>.<anything>`, and ids are sequential: counting them would let anyone lock anyone
        out); the API limits failed tokens per client instead. A sign-in lock does not stop a
        valid token: the lock guards the sign-in form against guessing, and the token is the full
        random secret. With `verify=False` only a token verified in the last minute is taken (no
        scrypt: what a client over its limit of failed tokens still gets)."""
        m = TOKEN_RE.match(token)
        if m is None:
            return None
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            cached = self._tokens.get(key)
        row = self._by_id(int(m.group(1)))
        if row is None or row.disabled:
            return None
        if cached is not None and cached[0] == row.id and cached[1] > time.monotonic():
            return _user(row)
        if not verify or not check_secret(token, row.secret_hash):
            return None
        user = _user(row)
        with self._lock:
            self._tokens[key] = (user.id, time.monotonic() + TOKEN_CACHE_SECONDS)
        return user

    # -- sessions ---------------------------------------------------------------------------------
    def open_session(self, user: User) -> tuple[str, Session]:
        cookie = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = _now()
        expires = now + timedelta(minutes=self.session_minutes)
        with self.db.write() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    id=hashlib.sha256(cookie.encode()).hexdigest(),
                    user_id=user.id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return cookie, Session(user, csrf, expires)

    def session(self, cookie: str) -> Session | None:
        if not cookie or len(cookie) > 100:
            return None
        sid = hashlib.sha256(cookie.encode()).hexdigest()
        with self.db.read() as conn:
            row = conn.execute(
                select(sessions, users.c.name, users.c.role, users.c.disabled)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.id == sid)
            ).first()
        if row is None or row.disabled:
            return None
        expires = _aware(row.expires_at)
        assert expires is not None
        if expires <= _now():
            return None
        return Session(User(int(row.user_id), row.name, row.role), row.csrf, expires)

    def close_session(self, cookie: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(sessions).where(sessions.c.id == hashlib.sha256(cookie.encode()).hexdigest()))
