"""screenshots/ansi_png.py: SGR escape sequences to cells, and cells to a PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from screenshots.ansi_png import (
    ANSI_16,
    DEFAULT_BG,
    DEFAULT_FG,
    Cell,
    Style,
    apply_sgr,
    colour_256,
    parse,
    plain_text,
    resolved_colours,
)

RED, WHITE = ANSI_16[1], ANSI_16[15]


def test_plain_text_has_default_style() -> None:
    grid = parse("ab\ncd\n")
    assert plain_text(grid) == "ab\ncd"
    assert grid[0][0] == Cell("a", Style())


def test_16_colours_bold_and_reset() -> None:
    grid = parse("\x1b[1;31mA\x1b[0mB\x1b[97;41mC\x1b[39;49mD")
    a, b, c, d = grid[0]
    assert a.style == Style(fg=RED, bold=True)
    assert b.style == Style()
    assert c.style == Style(fg=WHITE, bg=RED)
    assert d.style == Style()


def test_256_colours_and_truecolor() -> None:
    grid = parse("\x1b[38;5;208;48;5;18mX\x1b[38;2;1;2;3;48:2::4:5:6mY")
    x, y = grid[0]
    assert x.style.fg == (255, 135, 0) and x.style.bg == (0, 0, 135)
    assert y.style.fg == (1, 2, 3) and y.style.bg == (4, 5, 6)


def test_colour_256_table() -> None:
    assert colour_256(9) == ANSI_16[9]
    assert colour_256(16) == (0, 0, 0)
    assert colour_256(196) == (255, 0, 0)
    assert colour_256(231) == (255, 255, 255)
    assert colour_256(232) == (8, 8, 8) and colour_256(255) == (238, 238, 238)
    with pytest.raises(ValueError):
        colour_256(256)


def test_reverse_and_attribute_resets() -> None:
    style = apply_sgr(Style(), "7;4;2")
    assert style.reverse and style.underline and style.dim
    assert apply_sgr(style, "27;24;22") == Style()
    fg, bg = resolved_colours(Style(fg=RED, reverse=True))
    assert (fg, bg) == (DEFAULT_BG, RED)
    assert resolved_colours(Style()) == (DEFAULT_FG, DEFAULT_BG)


def test_style_carries_over_line_ends_and_fits_the_screen() -> None:
    grid = parse("\x1b[31mab\ncd", width=4, height=3)
    assert [len(row) for row in grid] == [4, 4, 4]
    assert grid[1][0].style.fg == RED  # as on a terminal: no reset at the line end
    assert grid[1][3] == Cell(" ") and grid[2][0] == Cell(" ")
    assert plain_text(parse("abcdef", width=3)) == "abc"


def test_wide_and_combining_characters() -> None:
    grid = parse("李x\u0308!")
    assert [cell.char for cell in grid[0]] == ["李", "", "x\u0308", "!"]


def test_other_escapes_are_skipped() -> None:
    text = "\x1b]0;title\x07\x1b[2J\x1b[H\x1b[?25lok\x1b(B\x1b[K\x1b7\x07"
    assert plain_text(parse(text)) == "ok"
    assert parse("\x1b[31m\x1b[>4;1m\x1b[2 qx")[0][0].style.fg == RED  # not SGR: kept red


def test_malformed_extended_colour_is_ignored() -> None:
    assert apply_sgr(Style(), "38;5") == Style()
    assert apply_sgr(Style(), "38;9;1") == Style()
    assert apply_sgr(Style(), "") == Style()


def test_drawing_puts_each_cell_in_its_colours(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    from screenshots.ansi_png import ansi_to_png, load_fonts, render

    fonts = load_fonts(14)
    grid = parse("\x1b[48;5;196m  \x1b[0m ─", width=5, height=2)
    image = render(grid, fonts, margin=0)
    assert image.size == (5 * fonts.cell_w, 2 * fonts.cell_h)
    assert image.getpixel((1, 1)) == (255, 0, 0)  # a red cell, no glyph
    assert image.getpixel((4 * fonts.cell_w - 1, 1)) == DEFAULT_BG
    line_y = fonts.cell_h // 2  # box-drawing lines span the whole cell
    assert image.getpixel((3 * fonts.cell_w, line_y)) == DEFAULT_FG
    assert image.getpixel((4 * fonts.cell_w - 1, line_y)) == DEFAULT_FG

    path = tmp_path / "shot.png"
    ansi_to_png("\x1b[1;32mok\x1b[0m", path, width=10, height=2)
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size[0] > 10 * fonts.cell_w
