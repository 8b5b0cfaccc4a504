"""Secrets at rest: what the service must be able to read back (webhook signing secrets) is stored
encrypted, with keys from SPORTELLO_SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256, https://github.com/fernet/spec) through `MultiFernet`, so keys
rotate: the variable holds a comma-separated list, the first key encrypts, every key decrypts.
Rotating is: put a new key first (`sportello secrets new-key`), restart the workers, run
`sportello secrets rotate` (every row re-encrypted with the first key), then drop the old key.

Without the variable, a key file is made in the data dir on first start (`secret.key`, mode 0600)
and a warning logged: the single-machine default keeps working offline. With several machines,
set the variable on every one of them (each would otherwise make its own file).

A stored value is `fernet:<token>`; the prefix tells an encrypted value from a plaintext one
left by an older version (the 0015 migration encrypts those) and lets another scheme follow.
API keys are not here: they are hashed (api/keys.py), the service never needs them back.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sportello.settings import Settings, SettingsError

log = logging.getLogger(__name__)

PREFIX = "fernet:"
KEY_FILE = "secret.key"
VARIABLE = "SPORTELLO_SECRET_KEY"


class SecretKeyError(SettingsError):
    """The configured keys cannot decrypt a stored secret (or are not Fernet keys)."""


def new_key() -> str:
    """A fresh Fernet key (URL-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


@dataclass(frozen=True)
class SecretBox:
    """Encrypts with the first key, decrypts with any; `source` says where the keys came from."""

    keys: tuple[str, ...]
    source: str  # SPORTELLO_SECRET_KEY or the key file's path

    def __post_init__(self) -> None:
        if not self.keys:
            raise SecretKeyError(f"{VARIABLE} is empty: give one Fernet key or a comma-separated list")
        for position, key in enumerate(self.keys, start=1):
            try:
                Fernet(key.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise SecretKeyError(
                    f"{self.source}: key {position} of {len(self.keys)} is not a Fernet key (32 bytes in "
                    "URL-safe base64, 44 characters); make one with `sportello secrets new-key`"
                ) from None

    @property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(key.encode("ascii")) for key in self.keys])

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str, *, what: str) -> str:
        """The plaintext of a sealed value; SecretKeyError naming `what` when no key opens it."""
        if not is_sealed(sealed):
            raise SecretKeyError(f"{what} is not encrypted; the database has not been migrated")
        try:
            return self._fernet.decrypt(sealed.removeprefix(PREFIX).encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(
                f"{what} cannot be decrypted with the keys in {self.source}: it was encrypted with "
                f"another key; list that key in {VARIABLE} (after the new one when rotating)"
            ) from None

    def rotate(self, sealed: str, *, what: str) -> str:
        """The value re-encrypted with the first key (opened with whichever key fits)."""
        return self.seal(self.open(sealed, what=what))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key is not None:
            keys = tuple(k.strip() for k in settings.secret_key.split(",") if k.strip())
            return cls(keys, VARIABLE)
        return cls((_key_file(settings.data_dir),), str(settings.data_dir / KEY_FILE))


def _key_file(data_dir: Path) -> str:
    """The data dir's key, made on first use (0600). Two processes starting at once agree: the file
    is written aside and linked into place, which fails if another process linked first."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret-")  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key() + "\n")
            os.link(temporary, path)
            log.warning(
                "secret_key_generated",
                extra={"path": str(path), "hint": f"set {VARIABLE} in production and keep a copy of it"},
            )
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="ascii").strip()
