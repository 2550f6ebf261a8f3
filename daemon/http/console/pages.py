"""Rendering the console's pages, with jinja2 loaded for the first page, not at start-up.

The console serves people a few pages a day; the daemon runs for months. jinja2
and its environment were about 4 MB of a ~60 MB idle process, so they load
when the first page is rendered (once, tens of milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web


class Pages:
    """The templates under `directory`, rendered as HTML answers."""

    def __init__(self, directory: Path, *, filters: Mapping[str, Callable[..., Any]]) -> None:
        self._directory = directory
        self._filters = dict(filters)
        self._env: Any = None  # a jinja2.Environment once the first page is asked for

    def render(self, name: str, context: Mapping[str, Any], *, status: int = 200
               ) -> web.Response:
        if self._env is None:
            self._env = self._environment()
        text = self._env.get_template(name).render(context)
        return web.Response(text=text, status=status, content_type="text/html",
                            charset="utf-8")

    def _environment(self) -> Any:
        import jinja2  # deferred: see the module docstring

        env = jinja2.Environment(loader=jinja2.FileSystemLoader(self._directory),
                                 autoescape=True, undefined=jinja2.StrictUndefined)
        env.filters.update(self._filters)
        return env
