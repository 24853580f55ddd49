"""blinken.corpus: the same seed gives the same, well-formed, realistic mail."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from blinken.corpus import DEFAULT_END, DEMO_FOLDERS, SPAN, CorpusMessage, generate, message

COUNT = 200
KNOWN_FLAGS = {"\\Seen", "\\Flagged", "\\Answered", "\\Draft"}


@pytest.fixture(scope="module")
def mail() -> list[CorpusMessage]:
    return list(generate(42, COUNT, DEMO_FOLDERS, attachment_share=0.2))


def _parse(item: CorpusMessage) -> EmailMessage:
    parsed = email.message_from_bytes(item.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_same_seed_same_bytes(mail: list[CorpusMessage]) -> None:
    assert list(generate(42, COUNT, DEMO_FOLDERS, attachment_share=0.2)) == mail
    other = list(generate(43, COUNT, DEMO_FOLDERS, attachment_share=0.2))
    assert [m.data for m in other] != [m.data for m in mail]


def test_one_message_can_be_made_alone(mail: list[CorpusMessage]) -> None:
    item = mail[17]
    alone = message(42, 17, item.folder, item.internaldate, attachment_share=0.2)
    assert alone == item


def test_crlf_line_ends_only(mail: list[CorpusMessage]) -> None:
    for item in mail:
        assert re.search(rb"(?<!\r)\n|\r(?!\n)", item.data) is None
        assert item.data.endswith(b"\r\n")


def test_messages_parse_with_the_email_package(mail: list[CorpusMessage]) -> None:
    for item in mail:
        parsed = _parse(item)
        assert not parsed.defects
        assert parsed["From"] and parsed["To"] and parsed["Subject"]
        date = parsedate_to_datetime(parsed["Date"])
        assert date.timestamp() == item.internaldate
        body = parsed.get_body(("plain",))
        assert body is not None and "this is message" in body.get_content()


def test_message_ids_are_unique(mail: list[CorpusMessage]) -> None:
    ids = [_parse(m)["Message-ID"] for m in mail]
    assert all(re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", i) for i in ids)
    assert len(set(ids)) == COUNT


def test_headers_are_ascii_with_encoded_words(mail: list[CorpusMessage]) -> None:
    heads = [m.data.split(b"\r\n\r\n", 1)[0] for m in mail]
    assert all(h.isascii() for h in heads)
    subjects = [_parse(m)["Subject"] for m in mail]
    assert any(not s.isascii() for s in subjects)  # decoded from RFC 2047
    assert any(b"Subject: =?utf-8?" in h for h in heads)
    assert any(not str(_parse(m)["From"]).isascii() for m in mail)


def test_bodies_are_mixed_7bit_8bit_and_quoted_printable(mail: list[CorpusMessage]) -> None:
    encodings = Counter(_parse(m).get_body(("plain",))["Content-Transfer-Encoding"] for m in mail)
    assert {"7bit", "8bit", "quoted-printable"} <= set(encodings)
    eight_bit = [m for m in mail if not m.data.isascii()]
    assert eight_bit
    for item in eight_bit:
        item.data.decode("utf-8")  # 8-bit means UTF-8 here


def test_attachment_share_and_sizes(mail: list[CorpusMessage]) -> None:
    with_attachment = [m for m in mail if _parse(m).is_multipart()]
    assert 20 <= len(with_attachment) <= 60  # 0.2 of 200, give or take chance
    for item in with_attachment:
        [attachment] = list(_parse(item).iter_attachments())
        assert attachment["Content-Transfer-Encoding"] == "base64"
        assert 50 * 1024 <= len(attachment.get_content()) < 500 * 1024
    for item in mail:
        if item not in with_attachment:
            assert 1024 <= len(item.data) <= 10 * 1024


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (1.0, 12)])
def test_attachment_share_bounds(share: float, expected: int) -> None:
    items = generate(1, 12, DEMO_FOLDERS, attachment_share=share)
    assert sum(_parse(m).is_multipart() for m in items) == expected


def test_folders_flags_and_dates(mail: list[CorpusMessage]) -> None:
    assert set(Counter(m.folder for m in mail)) == set(DEMO_FOLDERS)
    assert all(m.flags <= KNOWN_FLAGS for m in mail)
    assert all(m.flags == {"\\Draft"} for m in mail if m.folder == "Drafts")
    assert any(not m.flags for m in mail if m.folder == "INBOX")  # some unread mail
    dates = [m.internaldate for m in mail]
    assert dates == sorted(dates)
    assert all(DEFAULT_END - SPAN <= d <= DEFAULT_END for d in dates)
    assert dates[-1] - dates[0] > SPAN * 0.9  # spread over the two years


def test_list_mail_carries_a_list_id(mail: list[CorpusMessage]) -> None:
    lists = [_parse(m) for m in mail if m.folder == "Lists.python"]
    assert lists and all(p["List-Id"] == "<python.lists.example.org>" for p in lists)


def test_small_counts_and_no_folders() -> None:
    assert [m.folder for m in generate(5, 2, ["A", "B", "C"])] != []
    assert list(generate(5, 0, ["A"])) == []
    with pytest.raises(ValueError):
        list(generate(5, 3, []))
