"""The credential and login options of an ``[Repository NAME]`` of type IMAP.

``remotepasscmd`` and ``oauth2_access_token_cmd`` run a command the way
mbsync runs ``PassCmd``; ``auth_mechanisms`` picks the login mechanisms;
``preauthtunnel`` and ``transporttunnel`` reach the server through a
command; ``keyring_store`` says what happens to a password typed at the
prompt.  Which password option wins is decided in ``config_repos``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Callable

from blinken.config_values import BadValue, ConfigCallError, SectionReader, show
from engine.imap_auth import MECHANISMS

AUTH_OPTIONS = (
    "remotepasscmd", "oauth2_access_token", "oauth2_access_token_eval",
    "oauth2_access_token_cmd", "auth_mechanisms", "transporttunnel", "keyring_store",
)  # fmt: skip
KEYRING_STORE = ("ask", "yes", "no")
COMMAND_TIMEOUT = 120.0  # enough for a token refresh or a pinentry dialogue
_WORDS = re.compile(r"[\s,]+")


class CommandSecret:
    """A shell command's first line of output, as mbsync's ``PassCmd``.

    The command runs without a terminal (stdin is /dev/null) each time a
    login needs it, since access tokens expire (password managers and token
    helpers keep their own cache).  Any failure stops the account with one
    line naming the repository and option; the command itself is not quoted,
    in case it holds something private.
    """

    def __init__(self, command: str, where: str, what: str = "password") -> None:
        self.command = command
        self.where = where
        self.what = what
        self.timeout = COMMAND_TIMEOUT

    def __call__(self) -> str:
        out, err, status = self._run()
        if status != 0:
            raise ConfigCallError(f"{self.where}: the command failed ({_status(status)}){err}")
        line = self._first_line(out)
        if not line:
            raise ConfigCallError(f"{self.where}: the command printed no {self.what}{err}")
        return line

    def _run(self) -> tuple[bytes, str, int]:
        try:
            proc = subprocess.Popen(
                self.command,
                shell=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # so that a timeout can end its children too
            )
        except OSError as exc:
            raise ConfigCallError(f"{self.where}: cannot run the command: {exc.strerror}") from None
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ConfigCallError(
                f"{self.where}: the command gave no {self.what} within {self.timeout:g}s"
            ) from None
        return out, _last_line(err), proc.returncode

    def _first_line(self, out: bytes) -> str:
        """The first line without its line ending; spaces are part of a password."""
        try:
            text = out.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigCallError(f"{self.where}: the command's output is not UTF-8") from None
        return text.split("\n", 1)[0].rstrip("\r")

    def __repr__(self) -> str:
        return f"<{self.what} from the command of {self.where}>"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _status(code: int) -> str:
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return f": {lines[-1].strip()[:200]}" if lines else ""


def read_tunnel(reader: SectionReader) -> tuple[str | None, bool]:
    """(command, pre-authenticated): ``preauthtunnel`` or ``transporttunnel``, not both."""
    preauth = reader.string("preauthtunnel")
    transport = reader.string("transporttunnel")
    if preauth and transport:
        raise reader.fail("transporttunnel", "set either preauthtunnel or transporttunnel")
    if transport:
        return transport, False
    return preauth, True


def read_mechanisms(reader: SectionReader, warn: Callable[[str], None]) -> tuple[str, ...]:
    """``auth_mechanisms``: the ones blinken knows, in the user's order (others warned)."""
    text = reader.string("auth_mechanisms")
    if text is None:
        return ()
    names = [word.upper() for word in _WORDS.split(text) if word]
    skipped = [name for name in names if name not in MECHANISMS]
    if skipped:
        warn(
            f"[{reader.section}] auth_mechanisms: {', '.join(skipped)} not supported (skipped); "
            f"blinken knows {', '.join(MECHANISMS)}"
        )
    known = tuple(dict.fromkeys(name for name in names if name in MECHANISMS))
    if not known:
        raise reader.fail("auth_mechanisms", f"names none of {', '.join(MECHANISMS)}")
    return known


def parse_keyring_store(text: str) -> str:
    word = text.strip().lower()
    word = {"true": "yes", "on": "yes", "1": "yes", "false": "no", "off": "no", "0": "no"}.get(
        word, word
    )
    if word not in KEYRING_STORE:
        raise BadValue(f"{show(text)} is not ask, yes or no")
    return word
