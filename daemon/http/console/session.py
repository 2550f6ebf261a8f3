"""Console sessions and CSRF tokens: signed cookies (itsdangerous) naming sessions that
signed in, which are kept server-side (table console_sessions).

The signing key is derived from API_TOKENS, so every replica accepts the same
cookies and removing a token ends every session; with no tokens (loopback,
unauthenticated) it is random per process. A cookie carries a nonce and
whether the session signed in, signed and timestamped; it is refused once
older than LIFETIME_SECONDS. A signed-in session counts only while its row is
live: signing out ends it for every tab and replica, whatever the cookie says.
A session that has not signed in (the sign-in form's CSRF) is not stored. A
sign-in always issues a new nonce (no session fixation). The CSRF token of a
form is a signature of the session's nonce under another salt: it proves the
form came from a page we rendered for that session, and reveals neither a
token nor the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

from daemon.config import LOOPBACK_CALLER
from sql import Database
from webhooks.events import matching_secret

COOKIE = "isync_session"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    signed_in: bool
    caller: str = LOOPBACK_CALLER  # the name of the token it signed in with


class Sessions:
    def __init__(self, named_tokens: tuple[tuple[str, str], ...]) -> None:
        self.names = tuple(name for name, _ in named_tokens)
        self.tokens = tuple(token for _, token in named_tokens)
        seed = "\n".join(self.tokens).encode() if self.tokens else secrets.token_bytes(32)
        key = hmac.new(seed, b"instantly-sync console session", hashlib.sha256).digest()
        self._cookies = URLSafeTimedSerializer(key, salt="console-session")
        self._csrf = Signer(key, salt="console-csrf")

    @property
    def needs_sign_in(self) -> bool:
        return bool(self.tokens)

    def caller_of(self, given: str) -> str | None:
        """The name of the token `given` is, or None when it is none of them."""
        found = matching_secret(given.strip(), self.tokens)
        return None if found is None else self.names[found]

    async def new(self, db: Database, *, signed_in: bool,
                  caller: str = LOOPBACK_CALLER) -> tuple[Session, str]:
        """A fresh session (stored when signed in) and its cookie value."""
        session = Session(secrets.token_urlsafe(16), signed_in or not self.tokens, caller)
        if session.signed_in:
            await db.execute("console_session_start", session.nonce, LIFETIME_SECONDS,
                             caller)
        return session, self._cookies.dumps([session.nonce, session.signed_in])

    async def read(self, request: web.Request, db: Database) -> Session | None:
        """The session of a valid cookie younger than LIFETIME_SECONDS (a signed-in one
        only while its row is live), else None."""
        raw = request.cookies.get(COOKIE, "")
        try:
            nonce, signed_in = self._cookies.loads(raw, max_age=LIFETIME_SECONDS)
        except (BadSignature, ValueError, TypeError):  # also a well-signed foreign shape
            return None
        if not isinstance(nonce, str) or not isinstance(signed_in, bool):
            return None
        caller = LOOPBACK_CALLER
        if signed_in:
            caller = await db.fetchval("console_session_live", nonce)
            if caller is None:
                return None
        return Session(nonce, signed_in, caller)

    async def end(self, db: Database, session: Session) -> None:
        """Sign out: the session ends for every tab and replica."""
        await db.execute("console_session_end", session.nonce)

    def csrf(self, session: Session) -> str:
        return self._csrf.get_signature(session.nonce).decode()

    def csrf_ok(self, session: Session, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                   self.csrf(session).encode())


def set_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
    response.set_cookie(COOKIE, value, max_age=LIFETIME_SECONDS, path="/ui", httponly=True,
                        samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/ui")
