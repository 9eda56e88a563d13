"""Name a session without revealing its key (the key is the login cookie)."""

import hashlib


def session_fingerprint(session_key: str | None) -> str:
    """Return a short, one-way name for a session, to compare in events without sending the key."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()[:24]
