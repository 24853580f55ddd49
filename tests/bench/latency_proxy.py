"""A TCP proxy on 127.0.0.1 that adds a fixed round-trip time, to play a far-away server.

On loopback a round trip costs some microseconds, so a client that waits for
each answer before it sends the next command looks as fast as one that
pipelines.  Real servers are 10-100 ms away; this proxy makes that visible
in the benchmark (``sync_bench.py --latency-ms 25``).

Every chunk read from one side is written to the other side half the round
trip after it arrived, in the order it arrived (one writer thread per
direction); bandwidth is not limited.  Like a real distant peer (and unlike
Dovecot straight on loopback, in our measurements) the proxy's kernel delays
its ACKs: a client that writes one command in two pieces with Nagle's
algorithm on waits about 40 ms for the second piece to leave, as it would on
a real network.  Run it by hand in front of any server::

    python tests/bench/latency_proxy.py TARGET_PORT [--target-host H] [--rtt-ms 25]
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

CHUNK = 256 * 1024
_END = b""  # queued after the last chunk of a direction: no chunk is empty


def _nodelay(sock: socket.socket) -> None:
    """No Nagle: a small command must not wait for an ACK on top of the added delay."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Link:
    """One proxied connection: two sockets and one delayed pipe each way."""

    def __init__(self, client: socket.socket, server: socket.socket, delay: float) -> None:
        self.sockets = (client, server)
        self.delay = delay
        self._lock = threading.Lock()
        self._open_pipes = 2
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        client, server = self.sockets
        for source, sink in ((client, server), (server, client)):
            pending: queue.Queue[tuple[float, bytes]] = queue.Queue()
            self._spawn(self._read, source, pending)
            self._spawn(self._write, sink, pending)

    def _spawn(
        self,
        target: Callable[[socket.socket, queue.Queue[tuple[float, bytes]]], None],
        sock: socket.socket,
        pending: queue.Queue[tuple[float, bytes]],
    ) -> None:
        thread = threading.Thread(target=target, args=(sock, pending), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _read(self, source: socket.socket, pending: queue.Queue[tuple[float, bytes]]) -> None:
        """Stamp each chunk with when it may leave; an empty chunk marks the end."""
        try:
            while chunk := source.recv(CHUNK):
                pending.put((time.monotonic() + self.delay, chunk))
        except OSError:
            pass
        pending.put((time.monotonic() + self.delay, _END))

    def _write(self, sink: socket.socket, pending: queue.Queue[tuple[float, bytes]]) -> None:
        """Send the chunks in order, each no earlier than its stamp; pass the end on."""
        try:
            while True:
                due, chunk = pending.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not chunk:
                    sink.shutdown(socket.SHUT_WR)
                    break
                sink.sendall(chunk)
        except OSError:
            self.close()  # the peer is gone: end the other direction too
        self._pipe_done()

    def _pipe_done(self) -> None:
        with self._lock:
            self._open_pipes -= 1
            last = self._open_pipes == 0
        if last:
            self.close()

    def close(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class LatencyProxy:
    """Listen on ``host:port`` (0: any free port) and forward to the target with a delay.

    Use it as a context manager; ``stop()`` closes the listener and every
    connection, so no thread or socket outlives it.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        rtt_ms: float,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.target = (target_host, target_port)
        self.delay = max(0.0, rtt_ms) / 2000.0  # half the round trip each way, in seconds
        self.host = host
        self._wanted_port = port
        self.port = 0
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._links: list[_Link] = []
        self._accepter: threading.Thread | None = None

    def start(self) -> LatencyProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._wanted_port))
        listener.listen(64)
        listener.settimeout(0.2)  # so the accept loop notices stop()
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        """Open the server side at once: the greeting then arrives one delay later."""
        client.settimeout(None)
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        _nodelay(client)
        _nodelay(server)
        link = _Link(client, server, self.delay)
        self._links = [old for old in self._links if any(t.is_alive() for t in old.threads)]
        self._links.append(link)
        link.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._accepter is not None:
            self._accepter.join(timeout=5)
            self._accepter = None
        for link in self._links:
            link.close()
        for link in self._links:
            for thread in link.threads:
                thread.join(timeout=5)
        self._links.clear()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C, printing where to connect."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target_port", type=int)
    parser.add_argument("--target-host", default="127.0.0.1")
    parser.add_argument("--rtt-ms", type=float, default=25.0)
    parser.add_argument("--port", type=int, default=0, help="where to listen (0: any)")
    args = parser.parse_args(argv)
    with LatencyProxy(args.target_host, args.target_port, args.rtt_ms, port=args.port) as proxy:
        print(f"127.0.0.1:{proxy.port} -> {args.target_host}:{args.target_port}, "
              f"+{args.rtt_ms:g} ms round trip (Ctrl-C stops)", flush=True)  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
