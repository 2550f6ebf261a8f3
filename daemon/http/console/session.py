"""Console sessions and CSRF tokens: signed cookies (itsdangerous), nothing stored
server-side.

The signing key is derived from API_TOKENS, so every replica accepts the same
cookies and removing a token ends every session; with no tokens (loopback,
unauthenticated) it is random per process. A cookie carries a nonce and
whether the session signed in, signed and timestamped; it is refused once
older than LIFETIME_SECONDS. A sign-in always issues a new nonce (no session
fixation). The CSRF token of a form is a signature of the session's nonce
under another salt: it proves the form came from a page we rendered for that
session, and reveals neither a token nor the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

from webhooks.events import secret_matches

COOKIE = "isync_session"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    signed_in: bool


class Sessions:
    def __init__(self, tokens: tuple[str, ...]) -> None:
        self.tokens = tokens
        seed = "\n".join(tokens).encode() if tokens else secrets.token_bytes(32)
        key = hmac.new(seed, b"instantly-sync console session", hashlib.sha256).digest()
        self._cookies = URLSafeTimedSerializer(key, salt="console-session")
        self._csrf = Signer(key, salt="console-csrf")

    @property
    def needs_sign_in(self) -> bool:
        return bool(self.tokens)

    def token_matches(self, given: str) -> bool:
        return secret_matches(given.strip(), self.tokens)

    def new(self, *, signed_in: bool) -> tuple[Session, str]:
        """A fresh session and its cookie value."""
        session = Session(secrets.token_urlsafe(16), signed_in or not self.tokens)
        return session, self._cookies.dumps([session.nonce, session.signed_in])

    def read(self, request: web.Request) -> Session | None:
        """The session of a valid cookie younger than LIFETIME_SECONDS, else None."""
        raw = request.cookies.get(COOKIE, "")
        try:
            nonce, signed_in = self._cookies.loads(raw, max_age=LIFETIME_SECONDS)
        except (BadSignature, ValueError, TypeError):  # also a well-signed foreign shape
            return None
        if not isinstance(nonce, str) or not isinstance(signed_in, bool):
            return None
        return Session(nonce, signed_in)

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
