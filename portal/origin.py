"""The websocket Origin check: scheme, host and port must be one of the site's own origins.

Channels' AllowedHostsOriginValidator compares the Origin's host name with ALLOWED_HOSTS only, so a page
served from another port or over plain HTTP on the same host (http://localhost:9999, http://example.gov
for https://example.gov) could open the duty room's sockets with the user's cookie. Here the whole origin
must match: one of CSRF_TRUSTED_ORIGINS, or the origin the browser used for this very request (the Host
header, with the scheme the proxy reports), whose host is in ALLOWED_HOSTS — Django's CSRF rule for forms.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalised(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname.lower(), port


def origin_allowed(scope) -> bool:
    """Return whether the websocket's Origin is one of the site's own origins."""
    headers = dict(scope.get("headers") or [])
    origin = _normalised(headers.get(b"origin", b"").decode("latin-1"))
    if origin is None:
        return False
    if origin in {_normalised(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        # No Host header: not a browser (browsers always send it), so no cookie is borrowed here; the host
        # name alone must be allowed, as Channels checked it.
        return validate_host(origin[1], settings.ALLOWED_HOSTS)
    domain, _ = split_domain_port(host)
    if not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
    if proto in ("http", "https") and settings.SECURE_PROXY_SSL_HEADER:
        scheme = proto
    else:
        scheme = "https" if scope.get("scheme") == "wss" else "http"
    return origin == _normalised(f"{scheme}://{host}")


class OriginValidator:
    """ASGI middleware: refuse the websocket handshake from any other origin (before any consumer runs)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
