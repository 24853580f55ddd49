"""What each thread state looks like: a colour name, a glyph and words for the legend.

This table is the one place the OfflineIMAP colour list lives; the LED row, the
log pane, the help legend and the plain UIs all read it, so the legend can never
disagree with what the dashboard shows.  Colour names are ours (``orange``,
``pink``...); ``ui.palette`` maps them to terminal colours per screen depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import ThreadState


@dataclass(frozen=True)
class StateStyle:
    """How one state is drawn.

    ``glyph`` is printed inside the LED so the row still means something on a
    monochrome screen; ``flash`` is the colour a flashing LED alternates with.
    """

    colour: str
    glyph: str
    label: str
    flash: str | None = None


STATE_STYLES: dict[ThreadState, StateStyle] = {
    ThreadState.IDLE: StateStyle("black", ".", "idle"),
    ThreadState.TERMINATED: StateStyle("black", ".", "finished, no activity"),
    ThreadState.MAIN: StateStyle("red", "M", "main thread"),
    ThreadState.CONNECTING: StateStyle("gray", "C", "connecting to the server"),
    ThreadState.ACCOUNT_SYNC: StateStyle("purple", "A", "syncing an account"),
    ThreadState.FOLDER_SYNC: StateStyle("cyan", "F", "syncing a folder"),
    ThreadState.LOADING_LIST: StateStyle("green", "L", "loading a message list"),
    ThreadState.SYNC_CONTROLLER: StateStyle("blue", "S", "message sync controller"),
    ThreadState.COPYING: StateStyle("orange", ">", "copying a message"),
    ThreadState.DELETING: StateStyle("red", "x", "deleting a message"),
    ThreadState.ADDING_FLAGS: StateStyle("yellow", "+", "adding flags"),
    ThreadState.REMOVING_FLAGS: StateStyle("pink", "-", "removing flags"),
    ThreadState.COUNTDOWN: StateStyle("red", "T", "waiting for the next sync", flash="black"),
    ThreadState.IDLE_WAIT: StateStyle("sky", "I", "waiting for new mail (IMAP IDLE)"),
}

DRY_RUN_COPY_COLOUR = "fuchsia"
"""A copy that is only pretended (``--dry-run``) is drawn in this colour."""

DEFAULT_COLOUR = "default"
"""Text that belongs to no known thread."""

ALL_COLOURS: tuple[str, ...] = (
    "black",
    "red",
    "gray",
    "purple",
    "cyan",
    "green",
    "blue",
    "orange",
    "fuchsia",
    "yellow",
    "pink",
    "sky",
)


def state_colour(state: ThreadState, *, dry_run: bool = False, flash_on: bool = True) -> str:
    """The colour an LED in ``state`` has right now.

    ``flash_on`` is the blink phase; only flashing states care about it.
    """
    style = STATE_STYLES[state]
    if state is ThreadState.COPYING and dry_run:
        return DRY_RUN_COPY_COLOUR
    if style.flash is not None and not flash_on:
        return style.flash
    return style.colour


def legend() -> list[tuple[str, str, str]]:
    """(colour, glyph, words) rows for the help screen, one per distinct meaning.

    States sharing colour and glyph (idle and terminated) are merged, and the
    dry-run copy colour is added, so the legend matches the manual's list.
    """
    rows: list[tuple[str, str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for style in STATE_STYLES.values():
        colour = style.colour if style.flash is None else f"{style.colour}/{style.flash}"
        key = (colour, style.glyph)
        if key in seen:
            index = seen[key]
            rows[index] = (colour, style.glyph, f"{rows[index][2]} / {style.label}")
            continue
        label = style.label + (" (flashing)" if style.flash else "")
        seen[key] = len(rows)
        rows.append((colour, style.glyph, label))
        if style is STATE_STYLES[ThreadState.COPYING]:
            rows.append((DRY_RUN_COPY_COLOUR, style.glyph, "copying, dry run (nothing written)"))
    return rows
