"""The composition root: configuration, services, the toggle path, the scheduler,
and on top of them the HTTP API (`daemon.http`) and the command line (`daemon.cli`).

Dependency rule (checked by import-linter): `daemon.cli` may use `daemon.http`,
which may use the core modules here; nothing outside `daemon` imports it.
"""
