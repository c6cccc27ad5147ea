"""Model-controlled text made safe for the files aiotc writes.

A model file is untrusted input: its tensor, op and graph names and its file name
reach the generated files only through these functions. C comments get `c_comment`
(nothing that ends a comment, even after trigraphs and line splicing); C identifiers
(and so the Makefile, the .mk fragment and CMakeLists.txt, which name nothing else
from the model) are built from `c_word`; the HTML report is escaped by Jinja and
report.json by `json.dumps`; a terminal line gets `plain_text`; a file name
becomes text by `path_text` first.
"""

from __future__ import annotations

import os
import re

MAX_NAME_CHARS = 160  # of a name in a comment or on a terminal; longer ones end in "..."
ELLIPSIS = "..."
_NOT_WORD = re.compile(r"[^0-9A-Za-z_]+")


def path_text(path: os.PathLike | str) -> str:
    """A file name as text for any output: bytes that are no UTF-8 become U+FFFD
    (Python holds them as lone surrogates, which no UTF-8 file can store)."""
    return os.fsencode(path).decode("utf-8", "replace")


def plain_text(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """`text` as one line of printable characters: control, format, line- and
    paragraph-separator characters and lone surrogates become '?'."""
    if len(text) > limit:
        text = text[: limit - len(ELLIPSIS)] + ELLIPSIS
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def c_comment(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """`text` safe inside /* */: one line without backslashes (no line splicing), no
    '??' (no trigraph, `??/` being a backslash) and no '*/' or '/*'."""
    text = plain_text(text, limit).replace("\\", "?")
    text = re.sub(r"\?(?=\?)", "? ", text)
    return re.sub(r"\*(?=/)", "* ", re.sub(r"/(?=\*)", "/ ", text))


def c_word(text: str, limit: int | None = None) -> str:
    """`text` as ASCII letters, digits and '_' (runs of anything else become one '_'),
    at most `limit` characters, no '_' at either end; '' when nothing is left."""
    word = _NOT_WORD.sub("_", text).strip("_")
    return word[:limit].rstrip("_") if limit is not None else word


def unique(symbol: str, taken: set[str]) -> str:
    """`symbol`, or `symbol_2`, `symbol_3`... the first not in `taken` (which it joins)."""
    candidate, n = symbol, 1
    while candidate in taken:
        n += 1
        candidate = f"{symbol}_{n}"
    taken.add(candidate)
    return candidate
