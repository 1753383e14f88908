"""The glob index (catalog/globs.GlobIndex) gives the row trying every glob in order gives.

The index only narrows which globs are tried (by literal head, tail or middle, ASCII only); the
reference is :meth:`GlobIndex._first_by_regex` (one combined pattern, then each glob in table
order), which is what the catalogs did before. Compared on generated globs and texts (mixed
case, wildcards, non-ASCII letters that Unicode case folding matches to ASCII ones) and on the
packaged LOLRMM and suspicious-services globs with texts made from them.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.catalog import globs
from hivescan.catalog.globs import GlobIndex
from hivescan.catalog.known_bad import _rmm, _suspicious
from hivescan.catalog.normalise import normalise_for_expectation

_ALPHABET = "abAB\\:._ ?*ſKk%é"
_globs = st.lists(st.text(_ALPHABET, min_size=0, max_size=8), min_size=1, max_size=12)
_texts = st.lists(st.text(_ALPHABET.replace("*", "").replace("?", ""), max_size=12), min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(_globs, _texts)
def test_the_index_answers_as_every_glob_tried_in_order(patterns: list[str], texts: list[str]) -> None:
    index = GlobIndex.build(tuple(range(10, 10 + len(patterns))), patterns)
    for text in texts:
        for variant in (text, text.upper(), text.lower(), *patterns):
            expected = index._first_by_regex(variant)
            assert index._first(variant) == expected, (patterns, variant)
            assert index.first(variant) == expected  # remembered answers too


def test_the_index_is_used_and_agrees_on_the_catalogs() -> None:
    names, images, installs = _rmm()
    for table in (names, images, installs, _suspicious()):
        index = table.index
        texts = [globs.compile_glob(glob).pattern for glob in index.globs]
        raw = [table.table.rows[r][table.column] for r in index.rows]
        for glob in raw:
            filled = glob.replace("*", "x").replace("?", "y")
            texts += [filled, filled.upper(), filled.swapcase(), "C:\\Windows\\" + filled, filled + ".bak"]
        for text in texts:
            assert index._first(text) == index._first_by_regex(text), text
    assert len(installs.index.middles) + len(installs.index.tails) > globs.FEW  # the index path is taken


def _eager_first(patterns: list[str], text: str) -> int | None:
    """The first glob matching, every pattern compiled up front (what GlobIndex.build did)."""
    compiled = [globs.compile_glob(g) for g in patterns]
    combined = globs.compile_globs(patterns)
    if combined is None or not combined.match(text):
        return None
    return next((i for i, pattern in enumerate(compiled) if pattern.match(text)), None)


@settings(max_examples=200, deadline=None)
@given(_globs, _texts)
def test_patterns_compiled_on_first_use_answer_as_compiled_up_front(patterns: list[str], texts: list[str]) -> None:
    index = GlobIndex.build(tuple(range(len(patterns))), patterns)
    assert index.compiled == {}  # building compiles nothing
    for text in texts:
        for variant in (text, text.upper(), *patterns):
            assert index._first(variant) == _eager_first(patterns, variant), (patterns, variant)
    assert len(index.compiled) <= len(patterns) + 1  # at most one per glob, and the combined one
    for position, pattern in index.compiled.items():
        wanted = patterns if position == globs.COMBINED else [patterns[position]]
        expected = globs.compile_globs(wanted) if position == globs.COMBINED else globs.compile_glob(wanted[0])
        assert pattern == expected


def test_the_catalogs_compile_only_the_globs_a_text_needs() -> None:
    # a fresh index (the catalogs' own are shared by the process): LOLRMM's install paths
    installs = _rmm()[2]
    index = GlobIndex.build(installs.index.rows, installs.index.globs)
    assert index.first(r"C:\Windows\System32\svchost.exe") == installs.first(r"C:\Windows\System32\svchost.exe")
    assert len(index.compiled) < len(index.globs) // 10


def test_remembered_answers_stay_bounded() -> None:
    index = GlobIndex.build((0,), ["*x*"])
    for i in range(globs.REMEMBERED + 10):
        index.first(f"text {i}")
    assert len(index.answers) <= globs.REMEMBERED


def _normalise_reference(path: str, *, driver: bool) -> str:
    """normalise_for_expectation as it was (module-level regex calls, every expansion tried)."""
    expansions = (
        (re.compile(r"(?i)%systemroot%|%windir%"), r"C:\\Windows"),
        (re.compile(r"(?i)%programfiles%"), r"C:\\Program Files"),
        (re.compile(r"(?i)%programfiles\(x86\)%"), r"C:\\Program Files (x86)"),
        (re.compile(r"(?i)%programdata%"), r"C:\\ProgramData"),
        (re.compile(r"(?i)%systemdrive%"), "C:"),
    )
    text = path.strip()
    for pattern, replacement in expansions:
        text = pattern.sub(replacement, text)
    if re.match(r"(?i)\\systemroot\\", text):
        text = "C:\\Windows\\" + text[len("\\SystemRoot\\") :]
    elif text.startswith("\\??\\"):
        text = text[4:]
    elif driver and not text.startswith("\\") and not re.match(r"[A-Za-z]:", text):
        text = "C:\\Windows\\" + text
    return text


_PIECES = st.sampled_from(
    [
        "%SystemRoot%",
        "%windir%",
        "%ProgramFiles%",
        "%programfiles(x86)%",
        "%SYSTEMDRIVE%",
        "%ProgramData%",
        "%x%",
        "\\SystemRoot\\",
        "\\ſystemroot\\",
        "\\??\\",
        "C:",
        "system32",
        "\\",
        " ",
        "a.sys",
        "%",
        "é",
    ]
)


@given(st.lists(_PIECES, max_size=6), st.booleans())
def test_normalising_answers_as_before(pieces: list[str], driver: bool) -> None:
    path = "".join(pieces)
    assert normalise_for_expectation(path, driver=driver) == _normalise_reference(path, driver=driver)
