"""Syntax colouring of Python source in a QTextDocument: keywords, builtins, decorators,
numbers, strings (triple-quoted ones across lines) and comments, in the theme's code colours
(`designer.ui.theme.CodeColors`); a change of theme recolours the document at once."""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from designer.ui.theme import CanvasColors, CodeColors, follow_theme

NORMAL, IN_SINGLE_TRIPLE, IN_DOUBLE_TRIPLE = 0, 1, 2
TRIPLE_OF_STATE = {IN_SINGLE_TRIPLE: "'''", IN_DOUBLE_TRIPLE: '"""'}
STATE_OF_TRIPLE = {"'''": IN_SINGLE_TRIPLE, '"""': IN_DOUBLE_TRIPLE}

_WORDS = r"\b(?:{})\b"
KEYWORD_PATTERN = re.compile(_WORDS.format("|".join([*keyword.kwlist, *keyword.softkwlist])))
BUILTIN_PATTERN = re.compile(_WORDS.format("|".join(n for n in dir(builtins) if not n.startswith("_"))))
DECORATOR_PATTERN = re.compile(r"^\s*@[\w.]+")
NUMBER_PATTERN = re.compile(r"\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?)\b")
DEFINITION_PATTERN = re.compile(r"\b(?:def|class)\s+(\w+)")
# What starts a string or a comment; an optional prefix (r, b, f, u...) belongs to the string.
START_PATTERN = re.compile(r"#|(?:\b[rRbBfFuU]{1,2})?(?:'''|\"\"\"|'|\")")


def _format(colour: QColor, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    text_format = QTextCharFormat()
    text_format.setForeground(colour)
    if bold:
        text_format.setFontWeight(QFont.Weight.Bold)
    text_format.setFontItalic(italic)
    return text_format


def code_formats(colors: CodeColors) -> dict[str, QTextCharFormat]:
    """The format of each kind of token."""
    return {
        "keyword": _format(colors.keyword, bold=True),
        "builtin": _format(colors.builtin),
        "decorator": _format(colors.decorator),
        "number": _format(colors.number),
        "definition": _format(colors.definition, bold=True),
        "string": _format(colors.string),
        "comment": _format(colors.comment, italic=True),
    }


class PythonHighlighter(QSyntaxHighlighter):
    """Colours Python; the block state remembers an open triple-quoted string."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.formats: dict[str, QTextCharFormat] = {}
        self._rules = [
            (BUILTIN_PATTERN, "builtin"),
            (KEYWORD_PATTERN, "keyword"),
            (NUMBER_PATTERN, "number"),
            (DECORATOR_PATTERN, "decorator"),
        ]
        follow_theme(self.set_colors)

    def set_colors(self, colors: CanvasColors) -> None:
        """Colour the tokens in the theme's code colours and recolour the document with them."""
        self.formats = code_formats(colors.code)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        for pattern, name in self._rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), self.formats[name])
        for match in DEFINITION_PATTERN.finditer(text):
            self.setFormat(match.start(1), match.end(1) - match.start(1), self.formats["definition"])
        self._strings_and_comments(text)

    def _strings_and_comments(self, text: str) -> None:
        """Strings and comments last, over everything else, scanning left to right so that a
        `#` inside a string is not a comment and quotes inside a comment start nothing."""
        self.setCurrentBlockState(NORMAL)
        position = self._close_open_string(text)
        while position < len(text):
            match = START_PATTERN.search(text, position)
            if match is None:
                return
            if match.group() == "#":
                self.setFormat(match.start(), len(text) - match.start(), self.formats["comment"])
                return
            position = self._string_from(text, match)

    def _close_open_string(self, text: str) -> int:
        """Where scanning starts: after the end of a triple-quoted string open on earlier lines."""
        state = self.previousBlockState()
        if state not in TRIPLE_OF_STATE:
            return 0
        end = text.find(TRIPLE_OF_STATE[state])
        if end < 0:
            self.setFormat(0, len(text), self.formats["string"])
            self.setCurrentBlockState(state)
            return len(text)
        self.setFormat(0, end + 3, self.formats["string"])
        return end + 3

    def _string_from(self, text: str, match: re.Match[str]) -> int:
        quote = match.group().lstrip("rRbBfFuU")
        if quote in STATE_OF_TRIPLE:
            end = text.find(quote, match.end())
            if end < 0:
                self.setCurrentBlockState(STATE_OF_TRIPLE[quote])
                end = len(text)
            else:
                end += 3
        else:
            closing = re.compile(rf"(?:\\.|[^\\{quote}])*{quote}").match(text, match.end())
            end = closing.end() if closing else len(text)
        self.setFormat(match.start(), end - match.start(), self.formats["string"])
        return end
