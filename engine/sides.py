"""The two sides of a sync, and what each may have done to it.

They live apart from :mod:`engine.planner` because every sync needs them
(the account, the reporter, each folder's unchanged check), while the
planner, and all that imports it, is needed only by a folder that changed:
a no-op run does not pay for importing it.
"""

from __future__ import annotations

import enum

from engine.frozen import Frozen, record


class Side(enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"

    @property
    def other(self) -> Side:
        return Side.REMOTE if self is Side.LOCAL else Side.LOCAL


@record
class Policy(Frozen):
    """What each side may have done to it."""

    local_writable: bool = True
    remote_writable: bool = True
    delete_local: bool = True  # a deletion on the remote side reaches the local side
    delete_remote: bool = True  # a deletion on the local side reaches the remote side

    def writable(self, side: Side) -> bool:
        return self.local_writable if side is Side.LOCAL else self.remote_writable

    def deletes(self, side: Side) -> bool:
        if side is Side.LOCAL:
            return self.local_writable and self.delete_local
        return self.remote_writable and self.delete_remote
