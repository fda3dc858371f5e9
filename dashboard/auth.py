"""Who may see the dashboard: a password (its salted hash from the environment) or OIDC.

The dashboard listens on 127.0.0.1 unless told otherwise; anywhere else it
must ask who is there (the runner refuses a non-loopback address with
neither option set). Two ways:

- ``TENSIONWATCH_DASHBOARD_PASSWORD_HASH``: a salted hash, never the
  password, in one of two formats, both from Python's standard library:
  ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` (the default of
  ``hash_password``) or ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``.
  The typed password is hashed the same way and compared with
  ``hmac.compare_digest`` (constant time). Make one with
  ``python -m dashboard.auth`` (it asks for the password twice).
- ``TENSIONWATCH_DASHBOARD_OIDC=1``: Streamlit's own ``st.login`` with the
  provider configured under ``[auth]`` in ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from model import ConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PBKDF2_MIN_ITERATIONS = 100_000
KEY = "TENSIONWATCH_DASHBOARD_PASSWORD_HASH"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``password`` in the ``scrypt$n$r$p$salt$hash`` format."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_hash_format(encoded: str) -> None:
    """``ConfigError`` unless ``encoded`` is a hash ``verify_password`` understands."""
    try:
        _digest_of("", encoded, dry=True)
    except (ValueError, TypeError) as e:
        raise ConfigError(
            "environment",
            KEY,
            f"not a password hash ({e}); make one with `python -m dashboard.auth`",
        ) from e


def _digest_of(password: str, encoded: str, dry: bool = False) -> tuple[bytes, bytes]:
    """(digest of ``password`` under ``encoded``'s parameters, the stored digest)."""
    parts = encoded.strip().split("$")
    if parts[0] == "scrypt" and len(parts) == 6:
        n, r, p = (int(x) for x in parts[1:4])
        salt, stored = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5])
        if n < 2**14 or not salt or len(stored) < 16:
            raise ValueError("scrypt needs n >= 16384, a salt and a 16-byte hash or longer")
        if dry:
            return b"", stored
        maxmem = 128 * n * r * p + 2**20
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(stored), maxmem=maxmem
        )
        return digest, stored
    if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
        iterations = int(parts[1])
        salt, stored = base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3])
        if iterations < PBKDF2_MIN_ITERATIONS or not salt or len(stored) < 16:
            raise ValueError("pbkdf2_sha256 needs 100000 iterations or more and a salt")
        if dry:
            return b"", stored
        digest = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), salt, iterations, dklen=len(stored)
        )
        return digest, stored
    raise ValueError("expected scrypt$n$r$p$salt$hash or pbkdf2_sha256$iterations$salt$hash")


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    try:
        digest, stored = _digest_of(password, encoded)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, stored)


def main() -> None:
    import getpass

    first = getpass.getpass("Dashboard password: ")
    if len(first) < 12 or first != getpass.getpass("Again: "):
        raise SystemExit("passwords differ or shorter than 12 characters")
    print(f"export {KEY}='{hash_password(first)}'")


if __name__ == "__main__":
    main()
