"""Where things are in a JSON text: the line of a JSON pointer, the first duplicate member.

Python's decoder forgets positions, so findings would have no line. These functions walk
the text once more, only on the error path, and only over text that already decoded
(or, for duplicates, that decodes once duplicates are allowed). They use no regular
expression: each step looks only at the characters it passes, so a walk is linear.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from json import decoder

Pointer = tuple[str, ...]

scanstring: Callable[[str, int], tuple[str, int]] = decoder.scanstring  # type: ignore[attr-defined]
"""The decoder's own (C) string scanner: (text, index after the quote) → (string, end)."""

_WHITESPACE = frozenset(" \t\n\r")
_SCALAR = frozenset("-+.0123456789eEtrufalsn")
"""The characters of numbers, ``true``, ``false`` and ``null`` (the text already decoded)."""


def pointer_text(pointer: Pointer) -> str:
    """RFC 6901 form of a pointer: ``("a", "0", "b/c")`` → ``/a/0/b~1c``."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in pointer)


def locate_lines(text: str, pointers: Collection[Pointer]) -> dict[Pointer, int]:
    """The line of each pointer's value; pointers that do not exist are left out."""
    wanted = set(pointers)
    found: dict[Pointer, int] = {}
    if not wanted:
        return found
    lines = _LineIndex(text)
    for pointer, offset, _ in _walk(text):
        if pointer in wanted:
            found[pointer] = lines.line(offset)
            if len(found) == len(wanted):
                break
    return found


def duplicate_member_line(text: str) -> tuple[int, str] | None:
    """Line and pointer of the first member whose name repeats in its object."""
    lines = _LineIndex(text)
    for pointer, offset, duplicate in _walk(text):
        if duplicate:
            return lines.line(offset), pointer_text(pointer)
    return None


class _LineIndex:
    def __init__(self, text: str) -> None:
        self._newlines: list[int] = []
        index = text.find("\n")
        while index >= 0:
            self._newlines.append(index)
            index = text.find("\n", index + 1)

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1


@dataclass
class _Frame:
    pointer: Pointer
    is_object: bool
    index: int = 0
    names: set[str] = field(default_factory=set)


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _walk(text: str) -> Iterator[tuple[Pointer, int, bool]]:
    """Yield ``(pointer, offset, is_duplicate_member)`` for every value, in text order."""
    stack: list[_Frame] = []
    pointer: Pointer = ()
    duplicate = False
    position = _skip(text, 0)
    while position < len(text):
        yield pointer, position, duplicate
        duplicate = False
        char = text[position]
        if char in "{[":
            position = _skip(text, position + 1)
            if text[position] not in "}]":
                frame = _Frame(pointer, is_object=char == "{")
                stack.append(frame)
                pointer, position, duplicate = _next_member(text, position, frame)
                continue
            position += 1
        elif char == '"':
            position = scanstring(text, position + 1)[1]
        else:
            end = _scalar_end(text, position)
            if end == position:
                return
            position = end
        while True:  # after a value: next member, or close containers
            position = _skip(text, position)
            if not stack or position >= len(text):
                return
            if text[position] == ",":
                frame = stack[-1]
                frame.index += 1
                position = _skip(text, position + 1)
                pointer, position, duplicate = _next_member(text, position, frame)
                break
            stack.pop()
            position += 1


def _next_member(text: str, position: int, frame: _Frame) -> tuple[Pointer, int, bool]:
    """The pointer and value offset of the member or item starting at ``position``."""
    if not frame.is_object:
        return (*frame.pointer, str(frame.index)), position, False
    name, position = scanstring(text, position + 1)
    duplicate = name in frame.names
    frame.names.add(name)
    position = _skip(text, position)  # at ':'
    return (*frame.pointer, name), _skip(text, position + 1), duplicate


def _scalar_end(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SCALAR:
        position += 1
    return position
