"""Secrets at rest: AES-256-GCM sealing with a key derived from the settings.

A sealed value is ``v1.<base64url(nonce ‖ ciphertext ‖ tag)>``; the associated data binds it to
what it belongs to (e.g. one camera), so a value copied onto another row does not open there.
The key never lives in the database: ``GWANJE_CREDENTIALS_KEY``, or one derived from the secret
key (``core.settings.Settings.resolved_credentials_key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from Cryptodome.Cipher import AES
from Cryptodome.Random import get_random_bytes

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class SealError(ValueError):
    """A sealed value that does not open: another key, another owner, or tampered with."""


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose from a longer secret (HKDF-SHA256, RFC 5869, one block)."""
    prk = hmac.new(b"gwanje", secret.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(prk, purpose.encode("utf-8") + b"\x01", hashlib.sha256).digest()


class SecretBox:
    """Seals and opens small secrets with AES-256-GCM (a fresh 96-bit nonce per seal)."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        self._key = key

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: bytes, associated: bytes = b"") -> str:
        nonce = get_random_bytes(NONCE_BYTES)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(associated)
        body, tag = cipher.encrypt_and_digest(plaintext)
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + body + tag).decode('ascii')}"

    def open(self, sealed: str, associated: bytes = b"") -> bytes:
        version, _, data = sealed.partition(".")
        if version != VERSION:
            raise SealError(f"unknown sealed format {version!r}")
        try:
            raw = base64.urlsafe_b64decode(data.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise SealError("sealed value is not base64") from exc
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SealError("sealed value is too short")
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(associated)
        try:
            return cipher.decrypt_and_verify(body, tag)
        except ValueError as exc:
            raise SealError("sealed value does not open with this key (key changed, or tampered with)") from exc
