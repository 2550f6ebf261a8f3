"""Console sessions and CSRF tokens: signed cookies, nothing stored server-side.

The signing key is derived from API_TOKENS, so every replica accepts the same
cookies and removing a token ends every session; with no tokens (loopback,
unauthenticated) it is random per process. A cookie is
`expiry.nonce.signed_in.mac`; a sign-in always issues a new nonce (no session
fixation). The CSRF token of a form is an HMAC of the session's nonce: it
proves the form came from a page we rendered for that session, and reveals
neither a token nor the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from webhooks.events import secret_matches

COOKIE = "isync_session"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    signed_in: bool
    expires: int


class Sessions:
    def __init__(self, tokens: tuple[str, ...],
                 clock: Callable[[], float] = time.time) -> None:
        self.tokens = tokens
        seed = "\n".join(tokens).encode() if tokens else secrets.token_bytes(32)
        self._key = hmac.new(seed, b"instantly-sync console session", hashlib.sha256).digest()
        self._clock = clock

    @property
    def needs_sign_in(self) -> bool:
        return bool(self.tokens)

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return secret_matches(given.strip(), self.tokens)

    def new(self, *, signed_in: bool) -> tuple[Session, str]:
        """A fresh session and its cookie value."""
        session = Session(secrets.token_urlsafe(16), signed_in or not self.tokens,
                          int(self._clock()) + LIFETIME_SECONDS)
        body = f"{session.expires}.{session.nonce}.{int(session.signed_in)}"
        return session, f"{body}.{self._mac(body)}"

    def read(self, request: web.Request) -> Session | None:
        raw = request.cookies.get(COOKIE, "")
        body, _, mac = raw.rpartition(".")
        if not body or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        expires, nonce, signed_in = body.split(".")
        if int(expires) < self._clock():
            return None
        return Session(nonce, signed_in == "1", int(expires))

    def csrf(self, session: Session) -> str:
        return self._mac(f"csrf.{session.nonce}")[:32]

    def csrf_ok(self, session: Session, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                   self.csrf(session).encode())


def set_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
    response.set_cookie(COOKIE, value, max_age=LIFETIME_SECONDS, path="/ui", httponly=True,
                        samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/ui")
