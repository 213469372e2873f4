"""Security headers on every console response, and the plain page of a refusal."""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response

HEADERS = {
    # No inline script or style anywhere: the pages load only their own stylesheet and script
    # files; the broadcast page's script reads its progress events from the same origin.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; media-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def refused(message: str, status: int = 403) -> Response:
    """A plain page with one sentence; nothing was changed."""
    from html import escape

    body = (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Meedoen</title></head>"
        f"<body><p>{escape(message)}</p></body></html>"
    )
    return secured(HTMLResponse(body, status_code=status))
