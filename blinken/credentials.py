"""Where a password comes from when the config file does not give one.

Order: the config (``remotepass``, ``remotepassfile``, ``remotepasscmd``, or
OfflineIMAP's ``remotepasseval``, resolved by ``blinken.config``), then the
system keyring, then the user, asked through the frontend, which may refuse
(Basic, Quiet and Machine never ask: the account fails with one line).

The keyring entry has the service ``blinken`` and the user ``USER@HOST``
(``remoteuser`` at ``remotehost``; the repository's name stands in for a
tunnel without ``remotehost``).  ``blinken --store-password ACCOUNT`` writes
it; so does the prompt, after the typed password worked, as
``keyring_store`` (``ask``, ``yes`` or ``no``) says.

The answer is kept in memory for the run so that every connection of the
account uses it, and is never logged.  A refused password is not asked for
again in the same sync: the account stops with one error.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from blinken.config_values import one_line
from engine.errors import AuthenticationError
from engine.events import Emit, PasswordRequest
from engine.report import Reporter
from engine.settings import ImapSettings

KEYRING_SERVICE = "blinken"
_YES = frozenset({"y", "yes"})


def keyring_user(settings: ImapSettings) -> str:
    """The keyring entry's user name: ``user@host`` under the service ``blinken``."""
    return f"{settings.user}@{settings.host or settings.name}"


def keyring_password(settings: ImapSettings) -> str | None:
    try:
        import keyring

        password: str | None = keyring.get_password(KEYRING_SERVICE, keyring_user(settings))
        return password
    except Exception:  # no backend, locked, D-Bus gone: treat as "not stored"
        return None


def store_in_keyring(settings: ImapSettings, password: str) -> None:
    import keyring

    keyring.set_password(KEYRING_SERVICE, keyring_user(settings), password)


def keyring_failure(exc: BaseException, password: str) -> str:
    """A keyring exception as one line that cannot carry the password."""
    text = one_line(str(exc)) or type(exc).__name__
    return type(exc).__name__ if password in text else text


class _AskedPassword:
    """Keyring first, then one question per run; thread-safe and cached.

    It hears from :mod:`engine.imap_auth` whether the server took the
    password (``accepted``/``refused``); a typed password that worked may
    then be kept in the keyring.
    """

    def __init__(self, account: str, settings: ImapSettings, emit: Emit, can_prompt: bool) -> None:
        self.account = account
        self.settings = settings
        self.emit = emit
        self.can_prompt = can_prompt
        self._lock = threading.Lock()
        self._value: str | None = None
        self._origin = ""  # "keyring" or "prompt" once found
        self._offered = False

    @property
    def where(self) -> str:
        return f"{keyring_user(self.settings)} ({self.settings.name})"

    def __call__(self) -> str:
        with self._lock:
            if self._value is None:
                self._value = self._find()
            return self._value

    def _find(self) -> str:
        stored = keyring_password(self.settings)
        if stored:
            self._origin = "keyring"
            return stored
        if not self.can_prompt:
            raise AuthenticationError(
                f"no password for {self.where}: set remotepass, remotepassfile or remotepasscmd "
                f"in [Repository {self.settings.name}], or store one in the keyring with "
                f"`blinken --store-password {self.account}`"
            )
        request = PasswordRequest(self.account, self.settings.name, f"Password for {self.where}")
        self.emit(request)
        answer = request.reply.wait()
        if not answer:
            raise AuthenticationError(f"no password given for {self.where}")
        self._origin = "prompt"
        return answer

    def accepted(self) -> None:
        """The server took it: offer to keep a typed password, once per run."""
        with self._lock:
            if self._origin != "prompt" or self._offered or self._value is None:
                return
            self._offered = True
            password = self._value
        choice = self.settings.keyring_store
        if choice == "ask":
            choice = "yes" if self._ask_to_store() else "no"
        if choice == "yes":
            self._store(password)

    def refused(self) -> str:
        with self._lock:
            from_keyring = self._origin == "keyring"
        if not from_keyring:
            return ""
        return (
            f"the password came from the keyring (service {KEYRING_SERVICE}, user "
            f"{keyring_user(self.settings)}); replace it with "
            f"`blinken --store-password {self.account}`"
        )

    def _ask_to_store(self) -> bool:
        request = PasswordRequest(
            self.account,
            self.settings.name,
            f"That worked. Keep the password for {self.where} in the keyring? "
            "Type y and Enter to keep it; Enter or Esc: do not",
            secret=False,
        )
        self.emit(request)
        return (request.reply.wait() or "").strip().lower() in _YES

    def _store(self, password: str) -> None:
        report = Reporter(self.emit, self.account)
        user = keyring_user(self.settings)
        try:
            store_in_keyring(self.settings, password)
        except Exception as exc:  # keyring backends raise their own types
            report.warn(
                f"keyring: cannot store the password for {user}: {keyring_failure(exc, password)}"
            )
            return
        report.info(f"stored the password for {user} in the keyring (service {KEYRING_SERVICE})")

    def __repr__(self) -> str:
        return f"<password for {self.settings.name} from keyring or prompt>"


def with_password(
    settings: ImapSettings, account: str, emit: Emit, can_prompt: bool
) -> ImapSettings:
    """``settings`` with a password source, adding keyring and prompt when the config has none.

    Not for a pre-authenticated tunnel (no login) nor when an OAuth2 token is
    configured (the token is the credential).
    """
    if settings.password is not None or settings.oauth2_token is not None:
        return settings
    if settings.tunnel and settings.tunnel_preauth:
        return settings
    return replace(settings, password=_AskedPassword(account, settings, emit, can_prompt))
