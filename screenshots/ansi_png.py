"""Terminal text with ANSI colours (``tmux capture-pane -e -p``) to a PNG picture.

Parsing is separate from drawing: :func:`parse` turns text with SGR escape
sequences (16 colours, 256 colours, truecolor, bold, dim, underline, reverse)
into a grid of :class:`Cell`, and needs nothing but the standard library.
:func:`render` draws such a grid with Pillow, one monospace cell per column, on
a dark background.  Box-drawing lines are drawn as lines rather than as font
glyphs, so borders join up whatever the line height.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {False: "DejaVuSansMono.ttf", True: "DejaVuSansMono-Bold.ttf"}
DEFAULT_FG: RGB = (0xD0, 0xD0, 0xD0)
DEFAULT_BG: RGB = (0x1C, 0x1C, 0x1C)

# The 16 base colours as xterm draws them.
ANSI_16: tuple[RGB, ...] = (
    (0x00, 0x00, 0x00), (0xCD, 0x00, 0x00), (0x00, 0xCD, 0x00), (0xCD, 0xCD, 0x00),
    (0x00, 0x00, 0xEE), (0xCD, 0x00, 0xCD), (0x00, 0xCD, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x7F, 0x7F, 0x7F), (0xFF, 0x00, 0x00), (0x00, 0xFF, 0x00), (0xFF, 0xFF, 0x00),
    (0x5C, 0x5C, 0xFF), (0xFF, 0x00, 0xFF), (0x00, 0xFF, 0xFF), (0xFF, 0xFF, 0xFF),
)  # fmt: skip
_CUBE_STEPS = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True)
class Style:
    """How a cell is drawn; ``None`` colours mean the terminal's default."""

    fg: RGB | None = None
    bg: RGB | None = None
    bold: bool = False
    dim: bool = False
    underline: bool = False
    reverse: bool = False


@dataclass(frozen=True)
class Cell:
    """One column of the screen; the right half of a wide character has ``char == ""``."""

    char: str
    style: Style = Style()


Grid = list[list[Cell]]


# -- colours -----------------------------------------------------------------
def colour_256(index: int) -> RGB:
    """The RGB value of xterm colour ``index`` (0-255)."""
    if not 0 <= index <= 255:
        raise ValueError(f"colour index out of range: {index}")
    if index < 16:
        return ANSI_16[index]
    if index < 232:
        n = index - 16
        return (_CUBE_STEPS[n // 36], _CUBE_STEPS[n // 6 % 6], _CUBE_STEPS[n % 6])
    grey = 8 + 10 * (index - 232)
    return (grey, grey, grey)


def _extended_colour(params: list[int]) -> tuple[RGB | None, int]:
    """Colour after a 38/48: ``5;n`` or ``2;r;g;b``; returns it and how many params it took."""
    if params[:1] == [5] and len(params) >= 2:
        return colour_256(min(max(params[1], 0), 255)), 2
    if params[:1] == [2] and len(params) >= 4:
        r, g, b = (min(max(v, 0), 255) for v in params[1:4])
        return (r, g, b), 4
    return None, len(params)  # malformed: swallow the rest, like terminals do


# -- SGR ---------------------------------------------------------------------
_FLAGS_ON = {1: "bold", 2: "dim", 4: "underline", 7: "reverse"}
_FLAGS_OFF = {22: ("bold", "dim"), 24: ("underline",), 27: ("reverse",)}


def _basic_colour(style: Style, code: int) -> Style | None:
    """Styles for the fixed colour codes 30-49 and 90-107, or None for another code."""
    if 30 <= code <= 37 or 90 <= code <= 97:
        return replace(style, fg=ANSI_16[code % 10 + (8 if code >= 90 else 0)])
    if 40 <= code <= 47 or 100 <= code <= 107:
        return replace(style, bg=ANSI_16[code % 10 + (8 if code >= 100 else 0)])
    if code == 39:
        return replace(style, fg=None)
    if code == 49:
        return replace(style, bg=None)
    return None


def _simple_code(style: Style, code: int) -> Style:
    if code == 0:
        return Style()
    if code in _FLAGS_ON:
        return replace(style, **{_FLAGS_ON[code]: True})
    if code in _FLAGS_OFF:
        return replace(style, **dict.fromkeys(_FLAGS_OFF[code], False))
    coloured = _basic_colour(style, code)
    return style if coloured is None else coloured


def _sgr_params(text: str) -> list[int]:
    """``1;38;5;196`` to numbers; colon sub-parameters (``38:2::1:2:3``) count as separators."""
    if not text:
        return [0]
    parts = text.replace("::", ":").replace(":", ";").split(";")
    return [int(p) if p.isdigit() else 0 for p in parts]


def apply_sgr(style: Style, params_text: str) -> Style:
    """The style after ``ESC [ params_text m``."""
    params = _sgr_params(params_text)
    i = 0
    while i < len(params):
        code = params[i]
        if code in (38, 48):
            colour, used = _extended_colour(params[i + 1 :])
            if colour is not None:
                style = replace(style, **{"fg" if code == 38 else "bg": colour})
            i += 1 + used
            continue
        style = _simple_code(style, code)
        i += 1
    return style


# -- parsing -----------------------------------------------------------------
_TOKEN = re.compile(
    r"\x1b\[(?P<csi>[0-9;:?<=>]*)[ -/]*(?P<final>[@-~])"  # CSI: params, intermediates, final
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST (titles, links): ignored
    r"|\x1b[()*+#%]."  # charset designations: ignored
    r"|\x1b.?"  # any other escape (ESC 7, ESC =, ...): ignored
    r"|(?P<text>[^\x1b]+)"
)


_PRIVATE = ("?", "<", "=", ">")  # ``ESC [ > 4 m`` and the like are not colours


def char_width(char: str) -> int:
    """Columns ``char`` takes: 2 for wide East Asian, 0 for combining marks, else 1."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """("sgr", params) for colour changes and ("text", chars) for printable runs."""
    for match in _TOKEN.finditer(text):
        if match.group("text") is not None:
            yield "text", match.group("text")
        elif match.group("final") == "m" and match.group("csi")[:1] not in _PRIVATE:
            yield "sgr", match.group("csi")


def _put(row: list[Cell], char: str, style: Style) -> None:
    width = char_width(char)
    if width == 0:
        if row:
            row[-1] = Cell(row[-1].char + char, row[-1].style)
        return
    row.append(Cell(char, style))
    if width == 2:
        row.append(Cell("", style))


def parse(text: str, width: int | None = None, height: int | None = None) -> Grid:
    """Text with SGR sequences to rows of cells.

    Styles carry over line ends, as on a terminal.  Given ``width``, rows are
    cut or padded with default-styled spaces; given ``height``, so is the
    number of rows.
    """
    rows: Grid = [[]]
    style = Style()
    for kind, value in _tokens(text):
        if kind == "sgr":
            style = apply_sgr(style, value)
            continue
        for char in value:
            if char == "\n":
                rows.append([])
            elif char >= " " and char != "\x7f":
                _put(rows[-1], char, style)
    if text.endswith("\n"):
        rows.pop()
    return _fit(rows, width, height)


def _fit(rows: Grid, width: int | None, height: int | None) -> Grid:
    if height is not None:
        rows = rows[:height] + [[] for _ in range(height - len(rows))]
    if width is not None:
        rows = [row[:width] + [Cell(" ")] * (width - len(row)) for row in rows]
    return rows


def plain_text(grid: Grid) -> str:
    """The characters alone, one line per row, trailing spaces dropped."""
    return "\n".join("".join(cell.char for cell in row).rstrip() for row in grid)


def resolved_colours(style: Style) -> tuple[RGB, RGB]:
    """(foreground, background) as drawn: defaults filled in, reverse and dim applied."""
    fg = style.fg or DEFAULT_FG
    bg = style.bg or DEFAULT_BG
    if style.reverse:
        fg, bg = bg, fg
    if style.dim:
        fg = (
            (fg[0] + bg[0]) // 2,
            (fg[1] + bg[1]) // 2,
            (fg[2] + bg[2]) // 2,
        )
    return fg, bg


# -- drawing -----------------------------------------------------------------
# Light box-drawing characters as the arms they have: (left, right, up, down).
_BOX: dict[str, tuple[bool, bool, bool, bool]] = {
    "─": (True, True, False, False),
    "│": (False, False, True, True),
    "┌": (False, True, False, True),
    "┐": (True, False, False, True),
    "└": (False, True, True, False),
    "┘": (True, False, True, False),
    "├": (False, True, True, True),
    "┤": (True, False, True, True),
    "┬": (True, True, False, True),
    "┴": (True, True, True, False),
    "┼": (True, True, True, True),
}


@dataclass(frozen=True)
class Fonts:
    regular: ImageFont.FreeTypeFont
    bold: ImageFont.FreeTypeFont
    cell_w: int
    cell_h: int
    ascent: int


def load_fonts(size: int = 15, font_dir: Path = FONT_DIR) -> Fonts:
    """DejaVu Sans Mono, regular and bold, and the cell size it gives."""
    from PIL import ImageFont

    regular = ImageFont.truetype(str(font_dir / FONT_FILES[False]), size)
    bold = ImageFont.truetype(str(font_dir / FONT_FILES[True]), size)
    ascent, descent = regular.getmetrics()
    cell_w = round(regular.getlength("M"))
    return Fonts(regular, bold, cell_w, ascent + descent + 1, ascent)


def render(
    grid: Sequence[Sequence[Cell]], fonts: Fonts | None = None, *, margin: int = 12
) -> Image.Image:
    """A Pillow ``Image`` of ``grid``: a dark window with each cell drawn in its colours."""
    from PIL import Image, ImageDraw

    fonts = fonts or load_fonts()
    columns = max((len(row) for row in grid), default=0)
    size = (columns * fonts.cell_w + 2 * margin, len(grid) * fonts.cell_h + 2 * margin)
    image = Image.new("RGB", size, DEFAULT_BG)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(grid):
        for x, cell in enumerate(row):
            origin = (margin + x * fonts.cell_w, margin + y * fonts.cell_h)
            _draw_cell(draw, cell, origin, fonts)
    return image


def _draw_cell(draw: ImageDraw.ImageDraw, cell: Cell, origin: tuple[int, int], f: Fonts) -> None:
    fg, bg = resolved_colours(cell.style)
    x, y = origin
    wide = 2 if cell.char and char_width(cell.char[0]) == 2 else 1
    if bg != DEFAULT_BG:
        draw.rectangle((x, y, x + f.cell_w * wide - 1, y + f.cell_h - 1), fill=bg)
    if cell.char in _BOX:
        _draw_box(draw, _BOX[cell.char], origin, f, fg)
    elif cell.char.strip():
        font = f.bold if cell.style.bold else f.regular
        draw.text((x, y), cell.char, font=font, fill=fg)
    if cell.style.underline:
        line_y = y + f.ascent + 1
        draw.line((x, line_y, x + f.cell_w * wide - 1, line_y), fill=fg)


def _draw_box(
    draw: ImageDraw.ImageDraw,
    arms: tuple[bool, bool, bool, bool],
    origin: tuple[int, int],
    f: Fonts,
    colour: RGB,
) -> None:
    x, y = origin
    cx, cy = x + f.cell_w // 2, y + f.cell_h // 2
    left, right, up, down = arms
    if left or right:
        draw.line((x if left else cx, cy, x + f.cell_w - 1 if right else cx, cy), fill=colour)
    if up or down:
        draw.line((cx, y if up else cy, cx, y + f.cell_h - 1 if down else cy), fill=colour)


def save_png(image: Image.Image, path: Path, colours: int = 256) -> None:
    """Save with a palette of ``colours``: terminal pictures need few, and stay small."""
    from PIL import Image

    small = image.quantize(colors=colours, dither=Image.Dither.NONE)
    small.save(path, format="PNG", optimize=True)


def ansi_to_png(text: str, path: Path, width: int | None = None, height: int | None = None) -> Grid:
    """Parse ``text`` and write it as a PNG to ``path``; returns the parsed grid."""
    grid = parse(text, width, height)
    save_png(render(grid), path)
    return grid
