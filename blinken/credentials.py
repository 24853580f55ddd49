"""Where a password comes from when the config file does not give one.

Order: the config (``remotepass``, ``remotepassfile``, ``remotepasseval``,
resolved by ``blinken.config``), then the system keyring, then the user,
asked through the frontend, which may refuse (Basic, Quiet and Machine never
ask).  The answer is kept in memory for the run so that every connection of
the account uses it, and is never logged.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from engine.errors import AuthenticationError
from engine.events import Emit, PasswordRequest
from engine.settings import ImapSettings

KEYRING_SERVICE = "blinken"


def keyring_user(settings: ImapSettings) -> str:
    """The keyring entry's user name: ``user@host`` under the service ``blinken``."""
    return f"{settings.user}@{settings.host}"


def keyring_password(settings: ImapSettings) -> str | None:
    try:
        import keyring
        import keyring.errors

        return keyring.get_password(KEYRING_SERVICE, keyring_user(settings))
    except Exception:  # no backend, locked, D-Bus gone: treat as "not stored"
        return None


def store_in_keyring(settings: ImapSettings, password: str) -> None:
    import keyring

    keyring.set_password(KEYRING_SERVICE, keyring_user(settings), password)


class _AskedPassword:
    """Keyring first, then one question per run; thread-safe and cached."""

    def __init__(self, account: str, settings: ImapSettings, emit: Emit, can_prompt: bool) -> None:
        self.account = account
        self.settings = settings
        self.emit = emit
        self.can_prompt = can_prompt
        self._lock = threading.Lock()
        self._value: str | None = None

    def __call__(self) -> str:
        with self._lock:
            if self._value is None:
                self._value = self._find()
            return self._value

    def _find(self) -> str:
        stored = keyring_password(self.settings)
        if stored:
            return stored
        where = f"{keyring_user(self.settings)} ({self.settings.name})"
        if not self.can_prompt:
            raise AuthenticationError(
                f"no password for {where}: set remotepass or remotepassfile in "
                f"[Repository {self.settings.name}], or store one in the keyring with "
                f"`blinken --store-password {self.account}`"
            )
        request = PasswordRequest(self.account, self.settings.name, f"Password for {where}")
        self.emit(request)
        answer = request.reply.wait()
        if not answer:
            raise AuthenticationError(f"no password given for {where}")
        return answer

    def __repr__(self) -> str:
        return f"<password for {self.settings.name} from keyring or prompt>"


def with_password(
    settings: ImapSettings, account: str, emit: Emit, can_prompt: bool
) -> ImapSettings:
    """``settings`` with a password source, adding keyring and prompt when the config has none."""
    if settings.password is not None or settings.tunnel:
        return settings
    return replace(settings, password=_AskedPassword(account, settings, emit, can_prompt))
