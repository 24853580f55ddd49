"""Deterministic, realistic test mail for the demo, the integration tests and benchmarks.

The same seed always gives the same bytes, so a demo or a benchmark can be
repeated exactly.  The mail looks like a real mailbox, because the interesting
bugs live there: RFC 2047 subjects and names, 8-bit UTF-8 and quoted-printable
bodies, big base64 attachments, CRLF line ends, dates from many time zones,
and folder names that need IMAP's modified UTF-7.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import NamedTuple

import imapclient

# Dovecot's separator is "."; the names need modified UTF-7 on the wire.
DEMO_FOLDERS: tuple[str, ...] = (
    "INBOX", "Archive", "Archive.2025", "Lists.python", "Sent", "Drafts", "Trash",
    "Entwürfe", "Projekte.Ünïcode",
)  # fmt: skip
DEFAULT_END = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # fixed: "now" would not repeat
SPAN = 2 * 365 * 86400  # the dates cover two years before ``end``
SELF = "Demo User <demo@example.org>"
SEEN, FLAGGED, ANSWERED, DRAFT = "\\Seen", "\\Flagged", "\\Answered", "\\Draft"

_PEOPLE = (
    "Alice Martin <alice@example.com>", "Bob Stone <bob@example.net>",
    "Jürgen Müller <juergen.mueller@example.de>", "Zoë Ångström <zoe@example.se>",
    "François Dupré <f.dupre@example.fr>", "Оксана Петренко <oksana@example.ua>",
    "李雷 <lilei@example.cn>", "Build Bot <ci@builds.example.net>",
    "noreply@shop.example", "Carol O'Neil <carol@example.org>",
)  # fmt: skip
_SUBJECTS = (
    "Meeting notes for {day}", "Quarterly report", "Lunch on {day}?",
    "Your order #{n} has shipped", "[build] pipeline #{n} failed", "Invoice {n}",
    "Grüße aus München", "Réunion d'équipe", "Отчёт за квартал №{n}",
    "会議の議事録 {n}", "Ünïcode ✓ test #{n}", "Re: travel plans", "Fwd: slides for {day}",
)  # fmt: skip
_WORDS = (
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "this", "are", "or", "from", "at", "which", "project", "meeting", "release",
    "server", "mailbox", "folder", "sync", "message", "draft", "review", "budget", "team",
    "deadline", "schedule", "update", "report", "customer", "invoice", "ticket", "build",
    "deploy", "test", "feature", "please", "thanks", "regards", "tomorrow", "yesterday", "week",
    "month", "plan", "question", "answer", "idea",
)  # fmt: skip
_FOREIGN_WORDS = (
    "Grüße", "Straße", "Äpfel", "übermorgen", "naïve", "café", "déjà-vu", "Ørsted", "Кофе",
    "東京", "✓", "€",
)  # fmt: skip
_ATTACHMENTS = (
    ("application", "pdf", "report-{n}.pdf"), ("image", "jpeg", "IMG_{n}.jpg"),
    ("application", "zip", "logs-{n}.zip"), ("application", "pdf", "Präsentation {n}.pdf"),
    ("application", "octet-stream", "backup-{n}.bin"),
)  # fmt: skip
_ZONES = tuple(timezone(timedelta(minutes=m)) for m in (0, 60, 120, -300, -480, 330, 540))
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


class CorpusMessage(NamedTuple):
    """One message to store: where, the RFC 5322 bytes (CRLF), IMAP flags, INTERNALDATE."""

    folder: str
    data: bytes
    flags: frozenset[str]
    internaldate: float  # epoch seconds, whole (INTERNALDATE has no fractions)


def generate(
    seed: int,
    count: int,
    folders: Sequence[str],
    *,
    attachment_share: float = 0.1,
    end: float = DEFAULT_END,
) -> Iterator[CorpusMessage]:
    """``count`` messages in date order, spread over ``folders`` (each gets one if it can).

    ``attachment_share`` is the fraction of multipart messages with a 50-500 KB
    attachment: benchmarks turn it up or down; the rest are 1-10 KB of text.
    """
    if not folders:
        raise ValueError("generate() needs at least one folder")
    rng = random.Random(seed)
    places = _assign_folders(rng, count, folders)
    dates = sorted(float(int(rng.uniform(end - SPAN, end))) for _ in range(count))
    for index, (folder, when) in enumerate(zip(places, dates, strict=True)):
        yield message(seed, index, folder, when, attachment_share=attachment_share)


def _assign_folders(rng: random.Random, count: int, folders: Sequence[str]) -> list[str]:
    """Every folder once, then the rest weighted the way real mail piles up."""
    weights = [
        4 if f == "INBOX" else 2 if f.startswith(("Archive", "Lists")) else 1 for f in folders
    ]
    places = list(folders[:count])
    places += rng.choices(folders, weights, k=max(0, count - len(folders)))
    rng.shuffle(places)
    return places


def message(
    seed: int, index: int, folder: str, when: float, *, attachment_share: float = 0.0
) -> CorpusMessage:
    """Message ``index`` of corpus ``seed``: the same arguments give the same bytes.

    Each message has its own random stream, so one can be made without the
    others (the demo's trickle of new mail uses this).
    """
    rng = random.Random(f"{seed}/{index}")
    msg = EmailMessage(policy=SMTP)
    _headers(msg, rng, seed, index, folder, when)
    text, cte = _body_text(rng, index)
    msg.set_content(text, cte=cte)
    if rng.random() < attachment_share:
        _attach(msg, rng, index)
    if msg.is_multipart():  # a fixed boundary: the email package would pick a random one
        msg.set_boundary(f"=_blinken_{seed}_{index}_{rng.getrandbits(48):012x}")
    return CorpusMessage(folder, msg.as_bytes(policy=SMTP), _flags(rng, folder), when)


def _headers(
    msg: EmailMessage, rng: random.Random, seed: int, index: int, folder: str, when: float
) -> None:
    """Addresses and subject as the folder suggests; the email policy RFC 2047-encodes them."""
    other = rng.choice(_PEOPLE)
    sender, recipient = (SELF, other) if folder in ("Sent", "Drafts") else (other, SELF)
    subject = rng.choice(_SUBJECTS).format(n=rng.randrange(100, 10_000), day=rng.choice(_DAYS))
    if folder.startswith("Lists."):
        name = folder.split(".", 1)[1]
        recipient = f"{name}@lists.example.org"
        subject = f"[{name}] {subject}"
        msg["List-Id"] = f"<{name}.lists.example.org>"
    domain = sender.rsplit("@", 1)[1].rstrip(">")
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(when, rng.choice(_ZONES)))
    msg["Message-ID"] = f"<{int(when)}.{seed}.{index}.{rng.getrandbits(32):08x}@{domain}>"


def _body_text(rng: random.Random, index: int) -> tuple[str, str]:
    """Wrapped paragraphs, 1-10 KB as sent (log-uniform), and their transfer encoding.

    A third are not plain ASCII: sent as 8-bit UTF-8 or quoted-printable.
    The text aims lower than 10 KB so that headers and quoted-printable fit.
    """
    foreign = rng.random() < 0.35
    cte = ("8bit" if rng.random() < 0.6 else "quoted-printable") if foreign else "7bit"
    target = int(1024 * 8.5 ** rng.random() * (0.8 if cte == "quoted-printable" else 1))
    vocabulary = _WORDS + _FOREIGN_WORDS if foreign else _WORDS
    paragraphs = [f"Hello,\n\nthis is message {index}."]
    size = 0
    while size < target:
        words = " ".join(rng.choices(vocabulary, k=rng.randrange(20, 120)))
        words = words[: max(target - size, 60)].rsplit(" ", 1)[0]  # the last one fits
        paragraph = _wrap(words.capitalize() + ".")
        paragraphs.append(paragraph)
        size += len(paragraph.encode()) + 2
    paragraphs.append("-- \nSent from a deterministic corpus")
    return "\n\n".join(paragraphs) + "\n", cte


def _wrap(text: str, width: int = 72) -> str:
    """Greedy word wrap: textwrap does the same, at twice the cost of the whole message."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def _attach(msg: EmailMessage, rng: random.Random, index: int) -> None:
    """A 50-500 KB binary attachment (random bytes: they do not compress, like real ones)."""
    maintype, subtype, name = rng.choice(_ATTACHMENTS)
    data = rng.randbytes(rng.randrange(50 * 1024, 500 * 1024))
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name.format(n=index))


def _flags(rng: random.Random, folder: str) -> frozenset[str]:
    if folder == "Drafts":
        return frozenset({DRAFT})
    if folder in ("Sent", "Trash"):
        return frozenset({SEEN})
    flags = {SEEN} if rng.random() < 0.7 else set()
    if rng.random() < 0.1:
        flags.add(FLAGGED)
    if SEEN in flags and rng.random() < 0.15:
        flags.add(ANSWERED)
    return frozenset(flags)


# -- filling a server -------------------------------------------------------------


def connect_plain(
    host: str, port: int, user: str, password: str, timeout: float = 30.0
) -> imapclient.IMAPClient:
    """A logged-in client without TLS: only for a throwaway server on loopback."""
    client = imapclient.IMAPClient(host, port, ssl=False, timeout=timeout)
    try:
        client.login(user, password)
    except BaseException:
        close_quietly(client)
        raise
    return client  # folder_encode is on: names go out as modified UTF-7


def populate_via_imap(
    host: str,
    port: int,
    user: str,
    password: str,
    messages: Iterable[tuple[str, bytes, frozenset[str], float]],
    *,
    folders: Iterable[str] = (),
    batch_count: int = 50,
    batch_bytes: int = 4 << 20,
) -> Counter[str]:
    """CREATE the folders and APPEND the messages; how many went into each folder.

    Messages are grouped per folder and sent with MULTIAPPEND (one round trip
    per batch) when the server has it, keeping each folder's order, so UIDs
    follow the dates.  ``folders`` are created even if no message goes there.
    """
    client = connect_plain(host, port, user, password)
    try:
        appender = _Appender(client, batch_count, batch_bytes)
        for folder in folders:
            appender.ensure_folder(folder)
        for folder, data, flags, when in messages:
            appender.add(CorpusMessage(folder, data, frozenset(flags), when))
        appender.flush_all()
        return appender.counts
    finally:
        close_quietly(client)


def close_quietly(client: imapclient.IMAPClient) -> None:
    """LOGOUT if the connection still works, else just close the socket."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


class _Appender:
    """Per-folder buffers of messages, sent when a batch is full."""

    def __init__(self, client: imapclient.IMAPClient, batch_count: int, batch_bytes: int) -> None:
        self.client = client
        self.batch_count = max(1, batch_count)
        self.batch_bytes = batch_bytes
        self.multiappend = client.has_capability("MULTIAPPEND")
        self.existing = {name for _flags, _sep, name in client.list_folders()}
        self.pending: dict[str, list[CorpusMessage]] = {}
        self.counts: Counter[str] = Counter()

    def ensure_folder(self, folder: str) -> None:
        if folder not in self.existing and folder.upper() != "INBOX":
            self.client.create_folder(folder)
            self.client.subscribe_folder(folder)  # so clients listing LSUB see it too
        self.existing.add(folder)

    def add(self, item: CorpusMessage) -> None:
        self.ensure_folder(item.folder)
        batch = self.pending.setdefault(item.folder, [])
        batch.append(item)
        if len(batch) >= self.batch_count or sum(len(m.data) for m in batch) >= self.batch_bytes:
            self.flush(item.folder)

    def flush(self, folder: str) -> None:
        batch = self.pending.pop(folder, [])
        if self.multiappend and len(batch) > 1:
            batch_args = [
                {"msg": m.data, "flags": sorted(m.flags), "date": _date(m)} for m in batch
            ]
            self.client.multiappend(folder, batch_args)
        else:
            for m in batch:
                self.client.append(folder, m.data, sorted(m.flags), _date(m))
        self.counts[folder] += len(batch)

    def flush_all(self) -> None:
        for folder in list(self.pending):
            self.flush(folder)


def _date(item: CorpusMessage) -> datetime:
    """The INTERNALDATE to send: zone-aware, so the server stores exactly this instant."""
    return datetime.fromtimestamp(item.internaldate, UTC)
