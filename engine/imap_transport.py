"""How bytes reach the server: imaplib's IMAP4 over TCP, TLS or a tunnel command.

Split from :mod:`engine.imap_connect`, which decides which one a connection
gets and what it must check on the way.  Each transport feeds the protocol
trace and takes the capabilities the greeting announced.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket
import subprocess
from typing import IO, TYPE_CHECKING, Any

from engine.imap_library import imap4, tls
from engine.imap_trace import ProtocolTracer

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class TracedIO:
    """imaplib I/O hooks feeding a :class:`ProtocolTracer` (when there is one)."""

    _tracer: ProtocolTracer | None

    def send(self, data: ReadableBuffer) -> None:
        if self._tracer is not None:
            self._tracer.sent(bytes(data))
        super().send(data)  # type: ignore[misc]

    def readline(self) -> bytes:
        line: bytes = super().readline()  # type: ignore[misc]
        if self._tracer is not None and line:
            self._tracer.received_line(line)
        return line

    def read(self, size: int) -> bytes:
        data: bytes = super().read(size)  # type: ignore[misc]
        if self._tracer is not None:
            self._tracer.received_literal(len(data))
        return data


class GreetingCapabilities:
    """The capabilities the greeting announced (RFC 3501 7.1), instead of asking:
    one round trip less for every connection.

    Only the greeting's: after STARTTLS they are asked for again, as RFC 2595
    requires, and anything a STARTTLS answer carried is thrown away.
    """

    untagged_responses: dict[str, list[Any]]
    _encoding: str
    _greeted = False

    def _get_capabilities(self) -> None:
        said = self.untagged_responses.pop("CAPABILITY", None)
        if not self._greeted and said and isinstance(said[-1], bytes):
            self._greeted = True
            self.capabilities = tuple(str(said[-1], self._encoding).upper().split())
            return
        self._greeted = True
        super()._get_capabilities()  # type: ignore[misc]


class PlainIMAP4(GreetingCapabilities, TracedIO, imap4.IMAP4WithTimeout):  # type: ignore[misc]
    def __init__(self, host: str, port: int, timeout: float | None, tracer: Any) -> None:
        self._tracer = tracer
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        """An ASCII host name goes to getaddrinfo as bytes: given a str, Python
        encodes it with the IDNA codec, whose import costs a no-op 9 ms."""
        host: str | bytes = self.host.encode("ascii") if self.host.isascii() else self.host
        wait = timeout if timeout is not None else self._timeout
        return socket.create_connection((host, self.port), wait)  # type: ignore[arg-type]


class TlsIMAP4(GreetingCapabilities, TracedIO, tls.IMAP4_TLS):  # type: ignore[misc]
    def __init__(
        self, host: str, port: int, context: Any, timeout: float | None, tracer: Any
    ) -> None:
        self._tracer = tracer
        super().__init__(host, port, context, timeout)


class PipeIMAP4(imaplib.IMAP4):
    """IMAP over a command's stdin/stdout (``preauthtunnel``), stderr kept aside.

    imaplib's IMAP4_stream would let the command write to our terminal, under
    the dashboard; here its stderr goes to a file the error message can quote.
    """

    def __init__(self, command: str, stderr: IO[bytes]) -> None:
        self.command = command
        self.stderr = stderr
        super().__init__()

    def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
        self.host = host
        self.port = port
        self.process = subprocess.Popen(
            self.command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        return stdin, stdout

    def read(self, size: int) -> bytes:
        return self._pipes()[1].read(size)

    def readline(self) -> bytes:
        return self._pipes()[1].readline()

    def send(self, data: ReadableBuffer) -> None:
        stdin = self._pipes()[0]
        stdin.write(data)
        stdin.flush()

    def shutdown(self) -> None:
        for pipe in self._pipes():
            with contextlib.suppress(OSError):
                pipe.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TunnelIMAP4(GreetingCapabilities, TracedIO, PipeIMAP4):
    def __init__(self, command: str, tracer: Any, stderr: IO[bytes]) -> None:
        self._tracer = tracer
        super().__init__(command, stderr)
