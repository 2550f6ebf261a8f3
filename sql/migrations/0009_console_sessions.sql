-- Signed-in console sessions, kept server-side so that signing out (or removing
-- the token they signed in with) ends them; the cookie only names one. Sessions
-- that are not signed in (the sign-in form's CSRF) are not stored.
CREATE TABLE console_sessions (
    nonce       text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
