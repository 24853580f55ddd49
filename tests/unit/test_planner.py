"""The pure sync planner, rule by rule, on hand-made listings and status pairs.

No store is touched: ``plan`` only sees ``MessageInfo`` listings and ``Pair``
records, so every case here is a few literal values and the actions expected.
"""

from __future__ import annotations

import pytest

from engine.planner import (
    Copy,
    Delete,
    Link,
    Plan,
    Policy,
    Record,
    Reflag,
    Side,
    mass_deletion,
    merge_flags,
    plan,
)
from engine.repository import Flags, MessageInfo
from engine.status import Pair

NONE: Flags = frozenset()


def f(letters: str) -> Flags:
    return frozenset(letters)


def msg(id: str, flags: str = "", size: int | None = 100, hint: int | None = None) -> MessageInfo:
    return MessageInfo(id, f(flags), size, hint)


def pair(local: str | None, remote: str | None, lf: str = "", rf: str | None = None) -> Pair:
    return Pair(local, remote, f(lf), f(lf if rf is None else rf))


READONLY_LOCAL = Policy(local_writable=False)
READONLY_REMOTE = Policy(remote_writable=False)
NO_DELETES = Policy(delete_local=False, delete_remote=False)


# -- small types ---------------------------------------------------------------


def test_side_other() -> None:
    assert Side.LOCAL.other is Side.REMOTE
    assert Side.REMOTE.other is Side.LOCAL


def test_policy_deletes_needs_a_writable_side() -> None:
    assert Policy().deletes(Side.LOCAL) and Policy().deletes(Side.REMOTE)
    assert not READONLY_LOCAL.deletes(Side.LOCAL)
    assert READONLY_LOCAL.deletes(Side.REMOTE)
    assert not Policy(local_writable=False, delete_local=True).deletes(Side.LOCAL)
    assert not Policy(delete_remote=False).deletes(Side.REMOTE)
    assert Policy(delete_remote=False).writable(Side.REMOTE)


def test_reflag_change_and_result() -> None:
    r = Reflag(pair("1", "7", "S"), f("SF"), f("S"), f("SF"), f("SF"))
    assert r.change(Side.LOCAL) == (NONE, NONE)
    assert r.change(Side.REMOTE) == (f("F"), NONE)
    assert r.result == Pair("1", "7", f("SF"), f("SF"))


def test_delete_id_is_the_side_s_id() -> None:
    p = pair("1", "7")
    assert Delete(Side.LOCAL, p).id == "1"
    assert Delete(Side.REMOTE, p).id == "7"


def test_plan_helpers() -> None:
    p = Plan(
        [
            Delete(Side.LOCAL, pair("1", "7")),
            Delete(Side.LOCAL, pair("2", "8")),
            Delete(Side.REMOTE, pair("3", "9")),
            Copy(Side.LOCAL, "10", NONE),
        ]
    )
    assert len(p) == 4
    assert p.deletions(Side.LOCAL) == 2
    assert p.deletions(Side.REMOTE) == 1
    assert p.of(Copy) == [Copy(Side.LOCAL, "10", NONE)]


# -- nothing to do ---------------------------------------------------------------


def test_empty_folders_plan_nothing() -> None:
    assert len(plan([], [], [])) == 0


def test_synced_folder_plans_nothing() -> None:
    local = [msg("1", "S"), msg("2", "")]
    remote = [msg("7", "S"), msg("8", "")]
    assert len(plan(local, remote, [pair("1", "7", "S"), pair("2", "8")])) == 0


# -- new messages ----------------------------------------------------------------


def test_new_local_message_is_copied_to_remote() -> None:
    result = plan([msg("1", "FS", 123)], [], [])
    assert result.actions == [Copy(Side.REMOTE, "1", f("FS"), 123)]


def test_new_remote_message_is_copied_to_local() -> None:
    result = plan([], [msg("7", "R", 456)], [])
    assert result.actions == [Copy(Side.LOCAL, "7", f("R"), 456)]


def test_new_messages_on_both_sides_are_copied_both_ways() -> None:
    result = plan([msg("1"), msg("2")], [msg("7"), msg("8")], [pair("2", "8")])
    assert set(result.actions) == {
        Copy(Side.REMOTE, "1", NONE, 100),
        Copy(Side.LOCAL, "7", NONE, 100),
    }


def test_identical_unrecorded_messages_are_not_deduplicated_by_content() -> None:
    # Without a ,U= hint nothing says the two are one message: both are copied.
    result = plan([msg("1")], [msg("1")], [])
    assert set(result.actions) == {
        Copy(Side.REMOTE, "1", NONE, 100),
        Copy(Side.LOCAL, "1", NONE, 100),
    }


def test_new_message_is_not_copied_to_a_readonly_side() -> None:
    assert plan([msg("1")], [], [], READONLY_REMOTE).actions == []
    assert plan([], [msg("7")], [], READONLY_LOCAL).actions == []


def test_readonly_side_s_new_message_still_reaches_the_writable_side() -> None:
    assert plan([], [msg("7")], [], READONLY_REMOTE).actions == [Copy(Side.LOCAL, "7", NONE, 100)]
    assert plan([msg("1")], [], [], READONLY_LOCAL).actions == [Copy(Side.REMOTE, "1", NONE, 100)]


# -- deletions -------------------------------------------------------------------


def test_deleted_locally_is_deleted_remotely() -> None:
    p = pair("1", "7", "S")
    result = plan([], [msg("7", "S")], [p])
    assert result.actions == [Delete(Side.REMOTE, p)]


def test_deleted_remotely_is_deleted_locally() -> None:
    p = pair("1", "7", "S")
    result = plan([msg("1", "S")], [], [p])
    assert result.actions == [Delete(Side.LOCAL, p)]


def test_deletion_wins_over_a_flag_change_on_the_other_side() -> None:
    p = pair("1", "7", "")
    result = plan([], [msg("7", "F")], [p])
    assert result.actions == [Delete(Side.REMOTE, p)]


def test_gone_on_both_sides_is_forgotten() -> None:
    p = pair("1", "7")
    assert plan([], [], [p]).actions == [Record(p, None)]


@pytest.mark.parametrize("policy", [READONLY_REMOTE, Policy(delete_remote=False), NO_DELETES])
def test_local_deletion_blocked_by_policy_becomes_a_tombstone(policy: Policy) -> None:
    p = pair("1", "7", "S")
    result = plan([], [msg("7", "S")], [p], policy)
    assert result.actions == [Record(p, Pair(None, "7", NONE, f("S")))]


@pytest.mark.parametrize("policy", [READONLY_LOCAL, Policy(delete_local=False), NO_DELETES])
def test_remote_deletion_blocked_by_policy_becomes_a_tombstone(policy: Policy) -> None:
    p = pair("1", "7", "F")
    result = plan([msg("1", "F")], [], [p], policy)
    assert result.actions == [Record(p, Pair("1", None, f("F"), NONE))]


def test_tombstoned_message_is_not_copied_back() -> None:
    # Local deleted it while remote deletes were off: the remote copy stays,
    # and the next run must not bring it back to the local side.
    tomb = Pair(None, "7", NONE, f("S"))
    assert plan([], [msg("7", "S")], [tomb]).actions == []
    tomb = Pair("1", None, f("S"), NONE)
    assert plan([msg("1", "S")], [], [tomb]).actions == []


def test_tombstone_ignores_flag_changes_of_the_remaining_copy() -> None:
    tomb = Pair(None, "7", NONE, f("S"))
    assert plan([], [msg("7", "FS")], [tomb]).actions == []


def test_tombstone_whose_remaining_copy_is_gone_is_forgotten() -> None:
    tomb = Pair(None, "7", NONE, f("S"))
    assert plan([], [], [tomb]).actions == [Record(tomb, None)]
    tomb = Pair("1", None, f("S"), NONE)
    assert plan([], [], [tomb]).actions == [Record(tomb, None)]


def test_new_message_beside_a_tombstone_is_still_copied() -> None:
    tomb = Pair(None, "7", NONE, NONE)
    result = plan([], [msg("7"), msg("8")], [tomb])
    assert result.actions == [Copy(Side.LOCAL, "8", NONE, 100)]


# -- flags -------------------------------------------------------------------------


def test_merge_flags_keeps_both_sides_independent_changes() -> None:
    # Local added F, remote added R: both survive on both sides.
    assert merge_flags(f("SF"), f("SR"), f("S"), f("S")) == (f("FRS"), f("FRS"))


def test_merge_flags_removal_on_one_side_addition_on_the_other() -> None:
    # Local removed S (marked unread), remote added F.
    assert merge_flags(f(""), f("SF"), f("S"), f("S")) == (f("F"), f("F"))


def test_merge_flags_unchanged_stays() -> None:
    assert merge_flags(f("S"), f("S"), f("S"), f("S")) == (f("S"), f("S"))


def test_merge_flags_same_change_on_both_sides() -> None:
    assert merge_flags(f("SF"), f("SF"), f("S"), f("S")) == (f("FS"), f("FS"))
    assert merge_flags(f(""), f(""), f("S"), f("S")) == (NONE, NONE)


def test_merge_flags_without_baseline_is_the_union() -> None:
    assert merge_flags(f("S"), f("F"), None, None) == (f("FS"), f("FS"))
    assert merge_flags(f("S"), f("F"), f("S"), None) == (f("FS"), f("FS"))
    assert merge_flags(f(""), f(""), None, None) == (NONE, NONE)


def test_both_sides_changing_different_flags_plans_one_reflag_with_both() -> None:
    p = pair("1", "7", "S")
    result = plan([msg("1", "SF")], [msg("7", "SR")], [p])
    assert result.actions == [Reflag(p, f("SF"), f("SR"), f("FRS"), f("FRS"))]
    (action,) = result.actions
    assert isinstance(action, Reflag)
    assert action.change(Side.LOCAL) == (f("R"), NONE)
    assert action.change(Side.REMOTE) == (f("F"), NONE)
    assert result.notes and "both sides" in result.notes[0]


def test_one_sided_flag_change_travels() -> None:
    p = pair("1", "7", "")
    result = plan([msg("1", "S")], [msg("7", "")], [p])
    assert result.actions == [Reflag(p, f("S"), NONE, f("S"), f("S"))]
    assert result.notes == []
    result = plan([msg("1", "S")], [msg("7", "")], [pair("1", "7", "S")])
    assert result.actions == [Reflag(pair("1", "7", "S"), f("S"), NONE, NONE, NONE)]


def test_same_flag_change_on_both_sides_only_updates_the_status() -> None:
    p = pair("1", "7", "")
    result = plan([msg("1", "S")], [msg("7", "S")], [p])
    assert result.actions == [Record(p, pair("1", "7", "S"))]


def test_readonly_side_keeps_its_flags_but_its_changes_travel() -> None:
    p = pair("1", "7", "")
    # Local change cannot reach the read-only remote: only the status moves on.
    result = plan([msg("1", "S")], [msg("7", "")], [p], READONLY_REMOTE)
    assert result.actions == [Record(p, Pair("1", "7", f("S"), NONE))]
    # The read-only remote's own change still reaches the local side.
    result = plan([msg("1", "")], [msg("7", "F")], [p], READONLY_REMOTE)
    assert result.actions == [Reflag(p, NONE, f("F"), f("F"), f("F"))]
    (action,) = result.actions
    assert isinstance(action, Reflag)
    assert action.change(Side.REMOTE) == (NONE, NONE)


def test_readonly_side_divergent_baseline_is_stable() -> None:
    # After the Record above, the status holds S locally and nothing remotely.
    p = Pair("1", "7", f("S"), NONE)
    assert plan([msg("1", "S")], [msg("7", "")], [p], READONLY_REMOTE).actions == []


# -- linking by ,U= hint -------------------------------------------------------------


def test_local_file_naming_an_unrecorded_remote_uid_is_linked() -> None:
    result = plan([msg("a", "S", None, hint=7)], [msg("7", "F", 321)], [])
    assert len(result) == 1
    (link,) = result.actions
    assert isinstance(link, Link)
    assert (link.local, link.remote) == ("a", "7")
    assert (link.local_flags, link.remote_flags, link.remote_size) == (f("S"), f("F"), 321)
    assert result.of(Copy) == []


def test_link_target_flags_are_the_union() -> None:
    (link,) = plan([msg("a", "S", None, hint=7)], [msg("7", "F")], []).actions
    assert isinstance(link, Link)
    assert (link.local_new, link.remote_new) == (f("FS"), f("FS"))


def test_link_respects_a_readonly_side() -> None:
    (link,) = plan([msg("a", "S", None, 7)], [msg("7", "F")], [], READONLY_REMOTE).actions
    assert isinstance(link, Link)
    assert (link.local_new, link.remote_new) == (f("FS"), f("F"))
    assert link.fallback == (Copy(Side.LOCAL, "7", f("F"), 100),)
    (link,) = plan([msg("a", "S", None, 7)], [msg("7", "F")], [], READONLY_LOCAL).actions
    assert isinstance(link, Link)
    assert (link.local_new, link.remote_new) == (f("S"), f("FS"))
    assert link.fallback == (Copy(Side.REMOTE, "a", f("S"), None),)


def test_unverified_link_falls_back_to_copies_both_ways() -> None:
    (link,) = plan([msg("a", "S", 50, 7)], [msg("7", "F", 60)], []).actions
    assert isinstance(link, Link)
    assert link.fallback == (Copy(Side.REMOTE, "a", f("S"), 50), Copy(Side.LOCAL, "7", f("F"), 60))


def test_hint_to_a_recorded_remote_message_is_a_plain_new_message() -> None:
    result = plan([msg("a", hint=7), msg("b")], [msg("7")], [pair("b", "7")])
    assert result.actions == [Copy(Side.REMOTE, "a", NONE, 100)]


def test_hint_to_a_missing_remote_message_is_a_plain_new_message() -> None:
    result = plan([msg("a", hint=9)], [], [])
    assert result.actions == [Copy(Side.REMOTE, "a", NONE, 100)]


def test_two_files_with_the_same_hint_link_once() -> None:
    result = plan([msg("a", hint=7), msg("b", hint=7)], [msg("7")], [])
    assert [type(a) for a in result.actions] == [Link, Copy]
    link, copy = result.actions
    assert isinstance(link, Link) and link.local == "a"
    assert copy == Copy(Side.REMOTE, "b", NONE, 100)


def test_no_hint_no_link() -> None:
    result = plan([msg("a")], [msg("7")], [])
    assert result.of(Link) == []
    assert len(result.of(Copy)) == 2


# -- the mass-deletion guard -------------------------------------------------------


def _deleting(side: Side, n: int) -> Plan:
    return Plan([Delete(side, pair(str(i), str(100 + i))) for i in range(n)])


def test_mass_deletion_below_minimum_is_fine() -> None:
    assert mass_deletion(_deleting(Side.LOCAL, 9), 10, 10, 0.5, 10) is None


def test_mass_deletion_at_or_below_fraction_is_fine() -> None:
    assert mass_deletion(_deleting(Side.LOCAL, 10), 20, 20, 0.5, 10) is None
    assert mass_deletion(_deleting(Side.REMOTE, 10), 100, 100, 0.5, 10) is None


def test_mass_deletion_above_fraction_and_minimum_is_refused() -> None:
    why = mass_deletion(_deleting(Side.LOCAL, 11), 20, 1000, 0.5, 10)
    assert why == "would delete 11 of 20 messages on the local side"
    why = mass_deletion(_deleting(Side.REMOTE, 10), 1000, 10, 0.5, 10)
    assert why == "would delete 10 of 10 messages on the remote side"


def test_mass_deletion_counts_each_side_against_its_own_size() -> None:
    result = _deleting(Side.REMOTE, 12)
    assert mass_deletion(result, 10, 1000, 0.5, 10) is None
    assert mass_deletion(result, 1000, 20, 0.5, 10) is not None


def test_mass_deletion_from_a_real_plan() -> None:
    pairs = [pair(str(i), str(100 + i)) for i in range(20)]
    local = [msg(str(i)) for i in range(20)]
    result = plan(local, [], pairs)
    assert result.deletions(Side.LOCAL) == 20
    assert mass_deletion(result, 20, 0, 0.5, 10) is not None
    result = plan(local, [msg(str(100 + i)) for i in range(15)], pairs)
    assert result.deletions(Side.LOCAL) == 5
    assert mass_deletion(result, 20, 15, 0.5, 10) is None
