"""Which local folder goes with which remote folder: a pure function.

Each side filters its own folder names and translates them into the other
side's terms (OfflineIMAP's ``folderfilter`` and ``nametrans``, then the swap
of hierarchy separators).  A folder that the status knows but that has
vanished on one side is never recreated or deleted silently: it is reported
and left alone, because recreating it would re-download everything and
"syncing" its absence would delete everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.frozen import Frozen, record
from engine.settings import FolderRules


@record
class FolderPair(Frozen):
    local: str
    remote: str
    create_local: bool = False
    create_remote: bool = False


@dataclass
class FolderMatch:
    """The folder pairs to sync, and what the matching had to say about the rest."""

    pairs: list[FolderPair] = field(default_factory=list)
    vanished: list[tuple[str, str, str]] = field(default_factory=list)  # local, remote, side gone
    warnings: list[str] = field(default_factory=list)


@record
class SideView(Frozen):
    """One repository's folders as the matcher needs them."""

    names: Sequence[str]
    sep: str
    rules: FolderRules
    can_create: bool


def translate(name: str, rules: FolderRules, sep: str, other_sep: str) -> str:
    """A folder's name as the other side calls it."""
    visible = rules.nametrans(name)
    return visible.replace(sep, other_sep) if sep != other_sep else visible


def match_folders(
    local: SideView,
    remote: SideView,
    known: Iterable[tuple[str, str]] = (),
    only: Sequence[str] = (),
) -> FolderMatch:
    """Pair up folders; ``only`` limits the result to these remote names."""
    out = FolderMatch()
    known_pairs = set(known)
    local_names = set(local.names)
    remote_names = set(remote.names)
    wanted_remote = _selected(remote)
    wanted_local = _selected(local)
    taken_local: set[str] = set()
    for r in sorted(wanted_remote, key=_inbox_first):
        lname = translate(r, remote.rules, remote.sep, local.sep)
        _add(
            out,
            lname,
            r,
            lname in local_names,
            local.can_create,
            (lname, r) in known_pairs,
            "local",
        )
        taken_local.add(lname)
    for lname in sorted(wanted_local - taken_local, key=_inbox_first):
        r = translate(lname, local.rules, local.sep, remote.sep)
        if r in remote_names and r not in wanted_remote:
            continue  # the remote filter excludes it: the user does not want it
        if r in wanted_remote:
            out.warnings.append(
                f"local folder {lname!r} maps to remote {r!r}, which maps back to another"
                " local name: check that the two nametrans rules are inverses"
            )
            continue
        _add_remote(out, lname, r, remote.can_create, (lname, r) in known_pairs)
    if only:
        chosen = set(only)
        out.pairs = [p for p in out.pairs if p.remote in chosen or p.local in chosen]
    return out


def _selected(view: SideView) -> set[str]:
    chosen = {n for n in view.names if view.rules.folderfilter(n)}
    return chosen | set(view.rules.includes)


def _add(
    out: FolderMatch, lname: str, r: str, exists: bool, can_create: bool, known: bool, side: str
) -> None:
    if exists:
        out.pairs.append(FolderPair(lname, r))
    elif known:
        out.vanished.append((lname, r, side))
    elif can_create:
        out.pairs.append(FolderPair(lname, r, create_local=True))
    else:
        out.warnings.append(
            f"remote folder {r!r} has no local folder {lname!r} and may not create it"
        )


def _add_remote(out: FolderMatch, lname: str, r: str, can_create: bool, known: bool) -> None:
    if known:
        out.vanished.append((lname, r, "remote"))
    elif can_create:
        out.pairs.append(FolderPair(lname, r, create_remote=True))
    else:
        out.warnings.append(
            f"local folder {lname!r} has no remote folder {r!r} and may not create it"
        )


def _inbox_first(name: str) -> tuple[int, str]:
    return (0 if name.upper() == "INBOX" else 1, name)
