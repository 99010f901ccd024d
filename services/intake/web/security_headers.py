"""Security headers on every HTTP response of Amtsweg's app.

Amtsweg's HTTP app serves JSON for programs, the operators' console and the API docs
page. None of it may be framed, sniffed into another type, or load anything from another
origin; answers that may hold personal data are not cached.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For everything but pages: nothing may be loaded, run or framed."""

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
"""For the console and the docs page: only this origin's own files, no inline script or
style, nothing from another origin."""

PAGE_PREFIXES = ("/ops/console", "/docs")

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


def policy_for(path: str) -> str:
    """The Content-Security-Policy of the response to ``path``."""
    if path.startswith(PAGE_PREFIXES):
        return PAGE_POLICY
    return API_POLICY


def caches_allowed(path: str) -> bool:
    """Whether a response may be cached: only the pages' own files, which hold no data."""
    return path.startswith(PAGE_PREFIXES)


class SecurityHeaders:
    """ASGI middleware: the headers above on every response, without replacing ones a
    route set itself (a part download sets its own ``Content-Disposition``)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        added = [*COMMON, (b"content-security-policy", policy_for(path).encode())]
        if not caches_allowed(path):
            added.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in added if name not in present)
                message["headers"] = headers
            await send(message)

        await self._app(scope, receive, send_with_headers)
