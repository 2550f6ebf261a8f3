"""The ops console at /ui/: campaigns, drift, runs and sync health in a browser.

Server-rendered (jinja2, loaded with the first page) with a few lines of
vendored JS for toasts; signed-cookie sessions from API_TOKENS; English and
Dutch. The JSON API keeps bearer auth; /ui/ is outside it and guarded by its
own session and CSRF.
"""
