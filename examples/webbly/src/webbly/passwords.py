"""Password hashing with PBKDF2-HMAC-SHA256 from the standard library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
SALT_BYTES = 16


def hash_password(password: str, *, iterations: int, salt: bytes | None = None) -> str:
    """Return ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` for ``password``."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    if not password:
        raise ValueError("password must not be empty")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return "$".join([ALGORITHM, str(iterations), _b64(salt), _b64(digest)])


def verify_password(password: str, encoded: str) -> bool:
    """Check ``password`` against an encoded hash in constant time."""
    try:
        algorithm, iterations_text, salt_text, digest_text = encoded.split("$")
        iterations = int(iterations_text)
        salt = _unb64(salt_text)
        expected = _unb64(digest_text)
    except ValueError:
        return False
    if algorithm != ALGORITHM or iterations < 1:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def needs_rehash(encoded: str, *, iterations: int) -> bool:
    """Whether ``encoded`` was made with another algorithm or iteration count."""
    parts = encoded.split("$")
    return len(parts) != 4 or parts[0] != ALGORITHM or parts[1] != str(iterations)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc
