"""Where the receiver may fetch: only under the configured API origin.

A part reference comes from an envelope; the receiver sends its bearer token with every
fetch. So a reference is fetched only when it names the configured API's scheme, host
and port and lies under its path prefix: a path (``/v1/deliveries/…``, resolved under the
prefix) or an absolute URL of the same origin. Anything else (another host or port,
``http`` for ``https``, user info, dot segments or encoded slashes that climb out of the
prefix, a query, a fragment) is refused before a request is made. Redirects are not
followed (see ``receiver.consume``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from receiver.unpack import ReceiverError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class ForeignReferenceError(ReceiverError):
    """A part reference points outside the configured API: it is not fetched."""


@dataclass(frozen=True)
class ApiOrigin:
    """Scheme, host, port and path prefix of Amtsweg's HTTP API, as configured."""

    scheme: str
    host: str
    port: int
    prefix: str
    """The path under which everything is fetched, without a trailing slash ("" for all)."""

    @classmethod
    def of(cls, api: str) -> ApiOrigin:
        """The origin of ``--api``; ``ReceiverError`` if it is not a plain http(s) URL."""
        parts = _split(api, ReceiverError)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ReceiverError(f"--api must be an http or https URL, not {api!r}")
        if parts.username is not None or parts.query or parts.fragment:
            raise ReceiverError("--api must not carry user info, a query or a fragment")
        _check_segments(parts.path, ReceiverError)
        return cls(parts.scheme, parts.hostname, _port(parts), parts.path.rstrip("/"))

    def url(self, path: str) -> str:
        """A URL under the prefix (``path`` starting with ``/``)."""
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != _DEFAULT_PORTS[self.scheme]:
            netloc += f":{self.port}"
        return f"{self.scheme}://{netloc}{self.prefix}{path}"

    def resolve(self, reference: str) -> str:
        """The URL to fetch for a part reference; ``ForeignReferenceError`` if not ours."""
        parts = _split(reference, ForeignReferenceError)
        if parts.query or parts.fragment or not parts.path.startswith("/"):
            raise ForeignReferenceError("a part reference must be a plain path or URL")
        _check_segments(parts.path, ForeignReferenceError)
        if not parts.scheme and not parts.netloc:
            return self.url(parts.path)
        same = (
            parts.scheme == self.scheme
            and (parts.hostname or "") == self.host
            and parts.username is None
            and _port(parts) == self.port
        )
        if not same or not (parts.path == self.prefix or parts.path.startswith(self.prefix + "/")):
            raise ForeignReferenceError("a part reference outside the configured --api")
        return reference


def _split(value: str, error: type[ReceiverError]) -> SplitResult:
    if not value.isascii() or not value.isprintable() or " " in value or "\\" in value:
        raise error("not a plain URL (spaces, backslashes or control characters)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as cause:
        raise error("not a URL") from cause
    return parts


def _port(parts: SplitResult) -> int:
    return parts.port or _DEFAULT_PORTS.get(parts.scheme, -1)


def _check_segments(path: str, error: type[ReceiverError]) -> None:
    for segment in path.split("/"):
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            raise error("dot segments or encoded slashes in a path")
