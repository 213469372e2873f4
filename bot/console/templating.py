"""Jinja2 templates with gettext: the strings in the templates go through the same catalogs
(locales/) as the chat, in the coordinator's language; ``dir`` follows that language."""

from __future__ import annotations

from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.console.security import secured
from dialogs.anonymity import MIN_GROUP
from dialogs.i18n import RTL_LANGUAGES, _, current_locale, ngettext


def _environment() -> Environment:
    folder = str(resources.files("bot") / "console" / "templates")
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["min_group"] = MIN_GROUP
    return env


ENV = _environment()


def page(request: Request, template: str, status: int = 200, **values: object) -> Response:
    """Render ``template`` in the current locale (set by the caller with ``use_locale``)."""
    language = current_locale()
    html = ENV.get_template(template).render(
        request=request,
        lang=language,
        dir="rtl" if language in RTL_LANGUAGES else "ltr",
        **values,
    )
    return secured(HTMLResponse(html, status_code=status))
