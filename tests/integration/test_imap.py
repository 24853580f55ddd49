"""The IMAP store against a real (throwaway) Dovecot, checked through a second client."""

from __future__ import annotations

import imaplib
from typing import Any

import imapclient
import pytest

from engine import imap_folder, imap_parse
from engine.content import crlf_size, to_crlf, to_lf
from engine.errors import (
    AccountError,
    AuthenticationError,
    ConnectionFailed,
    FolderError,
    MessageError,
    UidValidityError,
)
from engine.imap import ImapRepository
from engine.imap_trace import ProtocolTracer
from engine.repository import Message
from tests.fixtures.dovecot import DovecotUser, new_user, start_server

pytestmark = pytest.mark.dovecot


def _msg(n: int, flags: str = "", pad: int = 0) -> Message:
    data = (
        f"From: a{n}@example.org\r\nSubject: message {n}\r\n"
        f"Message-ID: <{n}.imap@example.org>\r\n\r\nbody {n} {'x' * pad}\r\n"
    ).encode()
    return Message(data, frozenset(flags), internaldate=1_650_000_000.0 + n)


def _box(repo: ImapRepository, name: str = "Box") -> Any:
    repo.create_folder(name)
    return repo.open_folder(name)


# -- folder names ------------------------------------------------------------


def test_nested_non_ascii_folders_seen_by_another_client(dovecot: DovecotUser) -> None:
    repo = dovecot.repository()
    sep = repo.sep
    nested = f"Ärger{sep}Entwürfe & Co ✓{sep}日本語"
    repo.create_folder(nested)
    assert {"Ärger", f"Ärger{sep}Entwürfe & Co ✓", nested} <= set(repo.list_folders())
    other = dovecot.client()  # imapclient's own modified UTF-7 codec
    names = {name for _flags, _sep, name in other.list_folders()}
    assert nested in names
    subscribed = {name for _flags, _sep, name in other.list_sub_folders()}
    assert nested in subscribed
    other.folder_encode = False
    wire = {name for _flags, _sep, name in other.list_folders()}
    expected = imapclient.imap_utf7.encode(nested).decode("ascii")
    assert expected.encode() in wire or expected in wire
    other.folder_encode = True
    other.create_folder(f"Пример{sep}Ünter")
    assert f"Пример{sep}Ünter" in ImapRepository(dovecot.settings()).list_folders()


def test_noselect_parents_are_not_listed(dovecot: DovecotUser) -> None:
    other = dovecot.client()
    sep = other.list_folders()[0][1].decode()
    other.create_folder(f"Only{sep}Child")  # Dovecot leaves "Only" \Noselect
    repo = dovecot.repository()
    folders = repo.list_folders()
    assert f"Only{sep}Child" in folders and "Only" not in folders
    repo.create_folder(f"Only{sep}Child")  # makes the parent a real folder
    assert "Only" in repo.list_folders()
    with pytest.raises(FolderError):
        repo.create_folder(f"Bad{sep}{sep}Name")


# -- messages ------------------------------------------------------------------


def test_appenduid_names_the_stored_message(dovecot: DovecotUser) -> None:
    box = _box(dovecot.repository())
    ids = [box.append(_msg(n, "S" if n == 2 else "")) for n in range(3)]
    assert all(id is not None and id.isdigit() for id in ids)
    other = dovecot.client()
    other.select_folder("Box")
    assert sorted(other.search()) == sorted(int(i) for i in ids if i)
    fetched = other.fetch([int(ids[2] or 0)], ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
    [values] = fetched.values()
    assert to_lf(values[b"BODY[]"]) == to_lf(_msg(2).data)
    assert b"\\Seen" in values[b"FLAGS"]
    state = box.state()
    assert state.messages == 3 and state.uidnext == int(ids[2] or 0) + 1
    assert state.highestmodseq is not None


def test_multiappend_stores_a_batch_in_one_command_in_order(dovecot: DovecotUser) -> None:
    lines: list[str] = []
    box = _box(ImapRepository(dovecot.settings(), trace=lines.append))
    messages = [_msg(n, "F" if n == 1 else "", pad=n * 1000) for n in range(4)]
    ids = box.append_many(messages)
    appends = [line for line in lines if line.startswith("C: ") and " APPEND " in line]
    assert len(appends) == 1, appends
    assert ids is not None and all(id is not None for id in ids)
    fetched = {f.id: f.message for f in box.fetch([id for id in ids if id])}
    for id, sent in zip(ids, messages, strict=True):
        assert id is not None and to_lf(fetched[id].data) == to_lf(sent.data)
        assert fetched[id].flags == sent.flags and fetched[id].internaldate == sent.internaldate


def test_a_refused_message_spoils_the_whole_multiappend_and_only_its_own_append(
    dovecot: DovecotUser,
) -> None:
    """Dovecot refuses an empty message: a MessageError, and nothing of the batch stored."""
    box = _box(dovecot.repository())
    empty = Message(b"", frozenset())
    with pytest.raises(MessageError, match="zero byte"):
        box.append_many([_msg(1), empty, _msg(2)])
    assert box.list_messages() == []
    with pytest.raises(MessageError):
        box.append(empty)  # one message: skipped, the folder goes on
    assert box.append(_msg(3)) is not None


def test_compression_shrinks_the_traffic_and_keeps_every_byte(dovecot: DovecotUser) -> None:
    """usecompression: COMPRESS=DEFLATE after login; a compressible listing and body
    cross the wire in a fraction of their size and arrive intact."""
    lines: list[str] = []
    repo = ImapRepository(dovecot.settings(compress=True), trace=lines.append)
    box = _box(repo)
    messages = [_msg(n, "S", pad=200_000) for n in range(3)]
    ids = box.append_many(messages)
    assert ids is not None
    fetched = {f.id: f.message.data for f in box.fetch([i for i in ids if i])}
    assert [to_lf(fetched[i or ""]) for i in ids] == [to_lf(m.data) for m in messages]
    assert len(box.list_messages()) == 3
    client = repo._client
    assert client is not None and client.compressed is not None
    assert any(line.endswith("COMPRESS DEFLATE") for line in lines)  # traced as sent
    assert client.compressed.wire_bytes < 60_000  # 600 KB of bodies read back


def test_without_usecompression_nothing_is_compressed(dovecot: DovecotUser) -> None:
    lines: list[str] = []
    repo = ImapRepository(dovecot.settings(), trace=lines.append)
    _box(repo).append(_msg(1))
    assert repo._client is not None and repo._client.compressed is None
    assert not any("COMPRESS" in line for line in lines if line.startswith("C: "))


def test_flags_round_trip_with_another_client(dovecot: DovecotUser) -> None:
    box = _box(dovecot.repository())
    id = box.append(_msg(1, "S"))
    assert id is not None
    other = dovecot.client()
    other.select_folder("Box")
    other.add_flags([int(id)], [b"$Label1"])  # a keyword blinken must leave alone
    box.set_flags(id, frozenset("FP"), frozenset("S"))
    seen = set(other.get_flags([int(id)])[int(id)])
    assert seen == {b"\\Flagged", b"$Forwarded", b"$Label1"}
    other.add_flags([int(id)], [b"\\Answered", b"\\Draft"])
    other.remove_flags([int(id)], [b"\\Flagged"])
    [info] = box.list_messages()
    assert info.flags == frozenset("DPR")
    box.set_flags(id, frozenset("R"), frozenset())  # no change on the server
    other.delete_messages([int(id)])
    other.expunge()
    with pytest.raises(MessageError):
        box.set_flags(id, frozenset("S"), frozenset())
    with pytest.raises(MessageError):
        box.set_flags("not-a-uid", frozenset("S"), frozenset())


def test_delete_expunges_only_the_given_uids(dovecot: DovecotUser) -> None:
    box = _box(dovecot.repository())
    mine, keep, theirs = (box.append(_msg(n)) for n in range(3))
    other = dovecot.client()
    other.select_folder("Box")
    other.add_flags([int(theirs or 0)], [b"\\Deleted"])  # marked, not expunged
    box.delete([mine or ""])
    box.flush()  # held back until the next batch of changes, or this
    other.noop()  # let the other session hear of the EXPUNGE
    assert sorted(other.search()) == sorted([int(keep or 0), int(theirs or 0)])
    assert [m.id for m in box.list_messages()] == [keep, theirs]


def test_without_uidplus_other_deleted_messages_are_never_expunged() -> None:
    server = start_server(capability="IMAP4rev1 LITERAL+ IDLE")
    try:
        account = new_user(server)
        box = _box(account.repository())
        first, second, theirs = (box.append(_msg(n)) for n in range(3))
        other = account.client()
        other.select_folder("Box")
        other.add_flags([int(theirs or 0)], [b"\\Deleted"])
        with pytest.raises(FolderError, match="UIDPLUS"):
            box.delete([first or ""])
        assert len(other.search()) == 3  # nothing expunged
        other.remove_flags([int(theirs or 0)], [b"\\Deleted"])
        box.delete([first or "", second or ""])
        assert [m.id for m in box.list_messages()] == [theirs]
        account.close_all()
    finally:
        server.stop()


def test_two_thousand_messages_listed_with_sizes(dovecot: DovecotUser) -> None:
    repo = dovecot.repository()
    repo.create_folder("Many")
    other = dovecot.client()
    messages = [_msg(n, pad=n % 37) for n in range(2000)]
    for start in range(0, len(messages), 500):
        other.multiappend("Many", [m.data for m in messages[start : start + 500]])
    box = repo.open_folder("Many")
    listing = box.list_messages()
    assert len(listing) == 2000
    assert [m.size for m in listing] == [crlf_size(m.data) for m in messages]
    sample = [m.id for m in listing[::7]]  # 286 ids: three UID FETCH commands
    bodies = {f.id: f.message.data for f in box.fetch(sample)}
    assert set(bodies) == set(sample)
    assert bodies[listing[700].id] == messages[700].data


def test_readonly_repository_refuses_writes(dovecot: DovecotUser) -> None:
    writer = dovecot.repository()
    box = _box(writer)
    id = box.append(_msg(1))
    reader = dovecot.repository(readonly=True)
    ro = reader.open_folder("Box")
    assert [m.id for m in ro.list_messages()] == [id]
    for attempt in (
        lambda: ro.append(_msg(2)),
        lambda: ro.set_flags(id or "", frozenset("S"), frozenset()),
        lambda: ro.delete([id or ""]),
        lambda: reader.create_folder("New"),
    ):
        with pytest.raises(FolderError, match="read-only"):
            attempt()
    assert "New" not in writer.list_folders()
    assert [m.flags for m in box.list_messages()] == [frozenset()]


def test_fetch_gives_internaldate_and_the_source_uid(dovecot: DovecotUser) -> None:
    box = _box(dovecot.repository())
    id = box.append(_msg(5, "F"))
    [got] = box.fetch([id or "", "999999", "²", "x"])
    assert got.message.uid == int(id or 0)
    assert got.message.internaldate == _msg(5).internaldate
    assert got.message.flags == frozenset("F")


def test_listing_refused_by_the_server_is_empty_only_for_an_empty_folder(
    dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older servers answer BAD to ``UID FETCH 1:*`` in an empty mailbox."""
    import engine.imap_folder

    real = engine.imap_folder._uid_command

    def picky(client: Any, command: str, *args: str) -> list[Any]:
        if args[:1] == ("1:*",):
            raise imaplib.IMAP4.error("UID FETCH failed: BAD Invalid messageset")
        return real(client, command, *args)

    box = _box(dovecot.repository())
    monkeypatch.setattr(engine.imap_folder, "_uid_command", picky)
    assert box.list_messages() == []
    box.append(_msg(1))
    with pytest.raises(FolderError, match="refused"):
        box.list_messages()


# -- connection failures -----------------------------------------------------


def test_wrong_password_is_an_authentication_error(dovecot: DovecotUser) -> None:
    repo = dovecot.repository(password=lambda: "not-the-password")
    with pytest.raises(AuthenticationError) as caught:
        repo.list_folders()
    assert dovecot.user in str(caught.value)
    assert "not-the-password" not in str(caught.value)


def test_closed_port_is_connection_failed(dovecot: DovecotUser) -> None:
    from blinken.dovecot import free_port

    port = free_port()
    with pytest.raises(ConnectionFailed, match=f"cannot connect to 127.0.0.1:{port}"):
        dovecot.repository(port=port).list_folders()


def test_password_is_asked_only_when_logging_in(dovecot: DovecotUser) -> None:
    asked: list[int] = []

    def password() -> str:
        asked.append(1)
        return dovecot.password

    repo = dovecot.repository(password=password)
    assert asked == []
    repo.list_folders()
    repo.list_folders()
    assert asked == [1]


def test_plain_login_to_a_remote_host_is_refused_before_connecting(
    dovecot: DovecotUser,
) -> None:
    repo = dovecot.repository(host="192.0.2.1")  # TEST-NET: never contacted
    with pytest.raises(ConnectionFailed, match="unencrypted"):
        repo.list_folders()


def test_starttls_required_but_not_offered(dovecot: DovecotUser) -> None:
    repo = dovecot.repository(starttls=True)  # the session server has ssl = no
    with pytest.raises(ConnectionFailed, match="does not offer STARTTLS"):
        repo.list_folders()


def test_kicked_connection_is_a_folder_error_then_reconnects(dovecot: DovecotUser) -> None:
    box = _box(dovecot.repository())
    box.append(_msg(1))
    dovecot.server.kick(dovecot.user)
    with pytest.raises(FolderError, match="connection lost"):
        box.list_messages()
    assert len(box.list_messages()) == 1  # reconnected and re-selected


def test_server_gone_is_an_account_error() -> None:
    server = start_server()
    account = new_user(server)
    box = _box(account.repository())
    server.stop()
    with pytest.raises(AccountError):
        box.list_messages()


def test_folder_recreated_behind_our_back_is_a_uidvalidity_error(
    dovecot: DovecotUser,
) -> None:
    repo = dovecot.repository()
    box = _box(repo)
    box.append(_msg(1))
    other = dovecot.client()
    other.delete_folder("Box")
    other.create_folder("Box")
    dovecot.server.kick(dovecot.user)  # our session kept its old view until now
    with pytest.raises(FolderError, match="connection lost"):
        box.list_messages()
    with pytest.raises(UidValidityError):
        box.list_messages()
    with pytest.raises(UidValidityError):  # nor later, on the new folder
        box.set_flags("1", frozenset("S"), frozenset())


def test_preauth_tunnel(dovecot: DovecotUser) -> None:
    tunnel = dovecot.server.tunnel_command(dovecot.user)
    repo = dovecot.repository(tunnel=tunnel, password=None, host="unused.invalid")
    box = _box(repo, "Tunnelled")
    box.append(_msg(1))
    assert len(box.list_messages()) == 1
    repo.close()
    failing = dovecot.repository(tunnel="echo no such account >&2; exit 3")
    with pytest.raises(ConnectionFailed, match="no such account"):
        failing.list_folders()


def test_trace_shows_the_protocol_but_never_the_password(dovecot: DovecotUser) -> None:
    lines: list[str] = []
    repo = ImapRepository(dovecot.settings(), trace=lines.append)
    box = _box(repo)
    box.append(_msg(1))
    repo.close()
    text = "\n".join(lines)
    assert dovecot.password not in text
    assert any(line.endswith("AUTHENTICATE PLAIN <redacted>") for line in lines)  # SASL-IR
    assert "APPEND" in text and "<literal of" in text
    assert "body 1" not in text  # message bodies are shown by size only


# -- helpers without a server ------------------------------------------------------


def test_uid_sets_are_compact() -> None:
    assert imap_parse.uid_set([9, 1, 2, 3, 5, 10, 2]) == "1:3,5,9:10"
    assert imap_parse.uid_set([7]) == "7"
    assert imap_parse.uid_set([]) == ""


def test_listing_parser_handles_any_order_and_unsolicited_lines() -> None:
    data = [
        b"1 (UID 10 FLAGS (\\Seen $Junk) RFC822.SIZE 120)",
        b"2 (RFC822.SIZE 99 FLAGS () UID 11)",
        b"3 (FLAGS (\\Flagged))",  # unsolicited, no UID: ignored
        b"2 (UID 11 MODSEQ (5) FLAGS (\\Answered))",  # a later change keeps the size
        (b"4 (UID 12 FLAGS (\\Draft) RFC822.SIZE 5 X-ODD {3}", b"abc"),
        b")",
    ]
    listed = imap_parse.parse_listing(data)
    assert listed[10] == (10, frozenset("S"), 120)
    assert listed[11] == (11, frozenset("R"), 99)
    assert listed[12] == (12, frozenset("D"), 5)
    assert set(listed) == {10, 11, 12}


def test_store_answers_are_read_without_imapclients_parser_when_plain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The UIDs a STORE's answer names, as imapclient reads them; its parser is left
    only the lines the regular expressions cannot take (here, one with a literal)."""
    data = [
        b"146 (UID 254 MODSEQ (3352))",
        b"23 (UID 47 MODSEQ (3353) FLAGS (\\Seen $Forwarded))",
        b"24 (MODSEQ (3354) FLAGS () UID 48)",
        b"3 (FLAGS (\\Flagged))",  # unsolicited, no UID
        None,
        (b"4 (UID 12 FLAGS (\\Draft) X-ODD {3}", b"abc"),
        b")",
        b"5 (UID 13 MODSEQ (7))",
    ]
    real = imap_parse.parse_fetch_response  # imapclient's
    expected = real([d for d in data if d is not None], False, False)
    assert imap_parse.fetch_uids(data) == {v[b"UID"] for v in expected.values() if b"UID" in v}
    parsed: list[Any] = []

    def counting(items: Any, *args: Any) -> Any:
        parsed.extend(items)
        return real(items, *args)

    monkeypatch.setattr(imap_parse, "parse_fetch_response", counting)
    assert imap_parse.fetch_uids(data) == {254, 47, 48, 12, 13}
    assert parsed == [data[5], data[6]]


def test_appenduid_and_internaldate() -> None:
    assert imap_parse.appenduid(b"[APPENDUID 7 42] Append completed.", 7) == 42
    assert imap_parse.appenduid(b"Append completed.", 7) is None
    with pytest.raises(ValueError):
        imap_parse.appenduid(b"[APPENDUID 8 42] done", 7)
    assert imap_parse.internaldate(0) == "01-Jan-1970 00:00:00 +0000"


def test_tracer_redacts_secrets_and_literals() -> None:
    lines: list[str] = []
    tracer = ProtocolTracer(lines.append)
    tracer.sent(b"A1 LOGIN user secret\r\n")
    tracer.received_line(b"A1 OK Logged in\r\n")
    tracer.sent(b"A2 AUTHENTICATE PLAIN\r\n")
    tracer.received_line(b"+ \r\n")
    tracer.sent(b"AHVzZXIAc2VjcmV0\r\n")
    tracer.received_line(b"A2 OK done\r\n")
    tracer.sent(b'A3 APPEND "Box" {11+}\r\nhello')
    tracer.sent(b" world\r\n")
    tracer.sent(b"A4 NOOP\r\n")
    assert "secret" not in "\n".join(lines)
    assert "AHVzZXIAc2VjcmV0" not in "\n".join(lines)
    assert lines[0] == "C: A1 LOGIN <redacted>"
    assert "C: <redacted>" in lines
    assert 'C: A3 APPEND "Box" {11+} <literal of 11 bytes follows>' in lines
    assert "hello" not in "\n".join(lines)
    assert lines[-1] == "C: A4 NOOP"


def test_changes_asked_with_the_select(dovecot: DovecotUser) -> None:
    """The CHANGEDSINCE listing rides along with the SELECT; a SELECT the server
    refuses takes its FETCH down with it and leaves the connection fit for the next."""
    repo = dovecot.repository()
    box = _box(repo)
    box.append(Message(b"Subject: a\r\n\r\na\r\n", frozenset()))
    box.append(Message(b"Subject: b\r\n\r\nb\r\n", frozenset("S")))
    modseq = box.state().highestmodseq
    box.set_flags("2", frozenset("F"), frozenset())
    box.delete(["1"])
    box.append(Message(b"Subject: c\r\n\r\nc\r\n", frozenset()))

    with pytest.raises(FolderError):
        repo.open_folder_expecting("Nowhere", modseq)
    again = repo.open_folder_expecting("Box", modseq)
    changes = again.changes_since(modseq, lambda: ["1", "2"])

    assert changes is not None
    assert sorted((m.id, "".join(sorted(m.flags))) for m in changes.changed) == [
        ("2", "FS"),
        ("3", ""),
    ]
    assert changes.gone == {"1"}
    assert again.changes_since(modseq, lambda: ["1", "2"]) == changes  # asked again: same


def _traced_box(dovecot: DovecotUser, count: int) -> tuple[Any, list[str]]:
    lines: list[str] = []
    repo = ImapRepository(dovecot.settings(), trace=lines.append)
    box = _box(repo)
    for n in range(count):
        box.append(_msg(n, "S" if n % 2 else ""))
    return box, lines


def _body_fetches(lines: list[str]) -> list[str]:
    """The UID sets of the body FETCHes sent."""
    return [line.split()[4] for line in lines if line.endswith("INTERNALDATE BODY.PEEK[])")]


def test_a_fetch_sent_ahead_is_read_by_the_fetch_of_the_same_ids(dovecot: DovecotUser) -> None:
    box, lines = _traced_box(dovecot, 6)
    assert [f.id for f in box.fetch(["1", "2", "3"])] == ["1", "2", "3"]

    box.fetch_ahead(["4", "5", "6"])
    sent = len(lines)
    fetched = {f.id: f.message for f in box.fetch(["4", "5", "6"])}

    assert _body_fetches(lines) == ["1:3", "4:6"]  # one command for 4:6, sent ahead
    assert not [line for line in lines[sent:] if line.startswith("C: ")]
    assert sorted(fetched) == ["4", "5", "6"]
    assert fetched["4"].flags == frozenset("S") and b"Subject: message 3" in fetched["4"].data


def test_another_command_first_drops_the_fetch_sent_ahead(dovecot: DovecotUser) -> None:
    """Whatever comes between (a flag change, a listing, another folder), the answer
    sent ahead is read first and mixed with nothing; a fetch after it asks again."""
    box, lines = _traced_box(dovecot, 4)
    box.fetch_ahead(["1", "2"])

    box.set_flags("3", frozenset("F"), frozenset())
    listed = {m.id: m.flags for m in box.list_messages()}
    fetched = [f.id for f in box.fetch(["1", "2"])]

    assert listed == {
        "1": frozenset(),
        "2": frozenset("S"),
        "3": frozenset("F"),
        "4": frozenset("S"),
    }
    assert fetched == ["1", "2"]
    assert _body_fetches(lines) == ["1:2", "1:2"]


def test_deletions_go_out_with_the_next_flag_changes(
    dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held back, a deletion travels in front of the next STOREs, in their round trip;
    should that batch fail, ``flush`` sends it again before anyone records it."""
    box, lines = _traced_box(dovecot, 4)
    start = len(lines)
    box.delete(["1"])
    assert box.set_flags_grouped([(["2"], frozenset("F"), frozenset())]) == set()
    assert [line.split()[3] for line in lines[start:] if line.startswith("C: ")] == [
        "STORE",
        "EXPUNGE",
        "STORE",
    ]
    first_answer = next(i for i, line in enumerate(lines[start:]) if line.startswith("S: "))
    assert sum(line.startswith("C: ") for line in lines[start:][first_answer:]) == 0  # one trip

    box.delete(["3"])
    real = imap_folder._pipelined

    def refused(*args: Any) -> Any:
        raise FolderError("refused")

    monkeypatch.setattr(imap_folder, "_pipelined", refused)
    with pytest.raises(FolderError):
        box.set_flags_grouped([(["4"], frozenset("F"), frozenset())])
    monkeypatch.setattr(imap_folder, "_pipelined", real)
    box.flush()
    assert {m.id: m.flags for m in box.list_messages()} == {
        "2": frozenset("FS"),
        "4": frozenset("S"),
    }


@pytest.mark.parametrize("literal_plus", [True, False])
def test_large_bodies_go_up_with_crlf_line_ends(literal_plus: bool) -> None:
    """Bodies are sent a piece at a time with CRLF line ends: with LITERAL+, and after
    the server's continuation without it; one and several messages per APPEND."""
    plus = " LITERAL+" if literal_plus else ""
    server = start_server(capability=f"IMAP4rev1 UIDPLUS MULTIAPPEND{plus}")
    try:
        account = new_user(server)
        box = _box(account.repository())
        big = b"Subject: big\n\n" + b"".join(b"line %d\n" % n for n in range(300_000))
        mixed = b"Subject: mixed\r\n\r\nCRLF\r\nLF\nCR\ralone\r\n"
        one = box.append(Message(big, frozenset("S")))
        many = box.append_many([Message(mixed, frozenset()), Message(big[:-1], frozenset("F"))])

        other = account.client()
        other.select_folder("Box")
        stored = other.fetch(other.search(), ["BODY.PEEK[]", "RFC822.SIZE"])
        bodies = [stored[uid][b"BODY[]"] for uid in sorted(stored)]
        assert bodies == [to_crlf(big), to_crlf(mixed), to_crlf(big[:-1])]
        assert [stored[uid][b"RFC822.SIZE"] for uid in sorted(stored)] == [
            crlf_size(b) for b in (big, mixed, big[:-1])
        ]
        assert one is not None and many is not None and None not in many
        account.close_all()
    finally:
        server.stop()


def test_logout_does_not_wait_for_the_goodbye(dovecot: DovecotUser) -> None:
    """Everything before LOGOUT has been answered: its BYE would only cost a round trip."""
    lines: list[str] = []
    repo = ImapRepository(dovecot.settings(), trace=lines.append)
    repo.list_folders()
    repo.close()
    logout = [i for i, line in enumerate(lines) if line.endswith(" LOGOUT")]
    assert len(logout) == 1, lines
    assert lines[logout[0] + 1 :] == []
    assert not any("BYE" in line for line in lines)


def test_the_greetings_capabilities_are_not_asked_for_again(dovecot: DovecotUser) -> None:
    lines: list[str] = []
    repo = ImapRepository(dovecot.settings(), trace=lines.append)
    assert repo.has_capability("IDLE")
    repo.close()
    assert lines[0].startswith("S: * OK [CAPABILITY ")
    sent = [line.split()[2] for line in lines if line.startswith("C: ")]
    assert sent[:2] == ["AUTHENTICATE", "ENABLE"], lines
