"""Authenticated encryption of free text at rest (AES-256-GCM).

Participants write about violence, debt and illness: GDPR special-category data. Every
column that may hold their words uses `EncryptedText`, which encrypts in the process
before the value reaches the database, so a copied database file or backup shows nothing.
Each value carries the id of the key that sealed it, so keys can be rotated while the bot
runs: new writes use the current key, reads accept the old ones until they are re-sealed.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1"


class CryptoError(Exception):
    """A key is malformed, missing, or cannot open a stored value."""


def generate_key() -> str:
    """A new random key in the form STEGVIS_ENCRYPTION_KEY takes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError) as error:
        raise CryptoError("the key is not base64") from error
    if len(raw) != 32:
        raise CryptoError("the key must be 32 bytes, base64-encoded (44 characters)")
    return raw


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:8]


class Keyring:
    """The current key, which seals, and older keys, which only open."""

    def __init__(self, current: str, old: list[str] | None = None) -> None:
        raw = _decode_key(current)
        self.current_id = key_id(raw)
        self._ciphers: dict[str, AESGCM] = {self.current_id: AESGCM(raw)}
        for text in old or []:
            raw_old = _decode_key(text)
            self._ciphers.setdefault(key_id(raw_old), AESGCM(raw_old))

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self.current_id].encrypt(
            nonce, plaintext.encode("utf-8"), purpose.encode("utf-8")
        )
        body = base64.b64encode(nonce + sealed).decode("ascii")
        return f"{PREFIX}:{self.current_id}:{body}"

    def decrypt(self, stored: str, purpose: str) -> str:
        try:
            prefix, kid, body = stored.split(":", 2)
        except ValueError as error:
            raise CryptoError("a stored value is not in the encrypted form") from error
        if prefix != PREFIX:
            raise CryptoError("a stored value is not in the encrypted form")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise CryptoError(f"no key with id {kid} is configured (was a key removed too early?)")
        blob = base64.b64decode(body)
        try:
            return cipher.decrypt(blob[:12], blob[12:], purpose.encode("utf-8")).decode("utf-8")
        except InvalidTag as error:
            raise CryptoError(f"a value sealed with key {kid} failed authentication") from error

    def needs_rotation(self, stored: str) -> bool:
        return not stored.startswith(f"{PREFIX}:{self.current_id}:")


_keyring: Keyring | None = None


def install_keyring(keyring: Keyring) -> None:
    """Make `keyring` the one the database columns use (one per process)."""
    global _keyring
    _keyring = keyring


def active_keyring() -> Keyring:
    if _keyring is None:
        raise CryptoError("no encryption key is configured; set STEGVIS_ENCRYPTION_KEY")
    return _keyring
