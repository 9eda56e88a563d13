"""The client's address: one answer for the audit log, the rate limits and the login lockout (axes).

Behind our reverse proxy (deploy/) every request comes from the proxy, which appends the address it saw
to X-Forwarded-For. Only that last hop is trustworthy: anything to its left was sent by the client and
may be invented (`X-Forwarded-For: 6.6.6.6, <real>`). The header is believed only when
TRUST_X_FORWARDED_FOR is on and, if TRUSTED_PROXIES lists addresses, the request came from one of them.
"""

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def address_from(remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """Return the client's address from the peer address and the X-Forwarded-For header, or None."""
    peer = _valid(remote_addr or "")
    if forwarded_for and settings.TRUST_X_FORWARDED_FOR:
        trusted = settings.TRUSTED_PROXIES
        if not trusted or peer in trusted:
            appended = _valid(forwarded_for.split(",")[-1])
            if appended:
                return appended
    return peer


def client_address(request) -> str | None:
    """Return the address of the client behind an HttpRequest (None when it cannot be told)."""
    return address_from(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))


def client_address_of_scope(scope) -> str | None:
    """The same for an ASGI scope (a websocket)."""
    headers = dict(scope.get("headers") or [])
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
    peer = (scope.get("client") or [None])[0]
    return address_from(peer, forwarded)
