"""Plain-path patterns searched without a regex (catalog/pathpatterns.py) answer as ``re.search``.

The reference is ``re.search(pattern, text, re.IGNORECASE)``, what the catalog did before
(a pattern that does not compile: no match). Compared on generated patterns (literals, escapes,
the drive class, ``.*``, and things that are not plain) and texts (mixed case, non-ASCII letters
that case folding matches to ASCII ones, newlines), and on every shipped pattern with texts
made from it.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.catalog.known_good import _expected
from hivescan.catalog.pathpatterns import ExpectedPattern, plain_blocks


def _reference(regex: str, text: str) -> bool:
    try:
        return re.search(regex, text, re.IGNORECASE) is not None
    except re.error:
        return False


_PIECES = st.sampled_from(
    [
        *("a", "B", "s", "k", "i", "1", ":", "\\\\", "\\.", "\\-", "\\ ", "\\(", "-", " ", "_", "/", '"', "x"),
        *("[A-Za-z]{1}", "[A-Za-z]", ".*", ".*.*"),
        *(".", "(a|b)", "\\d", "[A-Za-z]{2}", "a?", "^", "$", "\\w", "a{1}", "\\", "[", "é"),  # not plain
    ]
)
_TEXT = st.text(alphabet='aAbBsSkKiI1: \\.-_/"xXéſKİı\n(', max_size=14)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # "possible nested set": generated patterns
@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join), st.lists(_TEXT, min_size=1, max_size=6))
def test_a_pattern_answers_as_re_search(regex: str, texts: list[str]) -> None:
    pattern = ExpectedPattern.of(regex)
    for text in texts:
        assert pattern.search(text) == _reference(regex, text), (regex, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES.filter(lambda p: p in ("a", "B", "s", "1", ":", "\\\\", "\\.", "[A-Za-z]", ".*")), max_size=8))
def test_texts_made_from_a_plain_pattern_are_found_as_re_finds_them(pieces: list[str]) -> None:
    regex = "".join(pieces)
    fill = {"\\\\": "\\", "\\.": ".", "[A-Za-z]": "Q", ".*": "zz"}
    made = "".join(fill.get(p, p) for p in pieces)
    pattern = ExpectedPattern.of(regex)
    assert pattern.steps is not None  # plain: the fast path is what is tested
    for text in (made, made.upper(), "C:\\" + made + ".bak", made[1:], made[:-1]):
        assert pattern.search(text) == _reference(regex, text), (regex, text)


def test_every_shipped_pattern_answers_as_re_search() -> None:
    index = _expected()[1]
    by_regex = {p.regex: p for rows in index.values() for _, p in rows}
    assert sum(p.steps is not None for p in by_regex.values()) > 0.9 * len(by_regex)  # most need no regex
    fixed = [r"C:\Windows\System32\svchost.exe -k netsvcs -p", r"c:\windows\system32\drivers\x.sys", ""]

    def made_from(regex: str) -> list[str]:
        made = regex.replace("[A-Za-z]{1}", "D").replace("[A-Za-z]", "e").replace(".*", "any")
        made = re.sub(r"\\(.)", r"\1", made)
        return [made, made.lower(), made.upper(), "\\??\\" + made, made + " x", made[2:]]

    regexes = sorted(by_regex)
    for n, regex in enumerate(regexes):
        # its own texts (where it should match), the next pattern's (where it mostly should not)
        for text in fixed + made_from(regex) + made_from(regexes[(n + 1) % len(regexes)]):
            assert by_regex[regex].search(text) == _reference(regex, text), (regex, text)


def test_a_plain_pattern_needs_no_compiled_regex_on_ascii_text_and_compiles_once_otherwise() -> None:
    pattern = ExpectedPattern.of(r"[A-Za-z]{1}:\\Windows\\System32\\svchost\.exe -k .*")
    assert pattern.search(r"C:\WINDOWS\system32\svchost.exe -k netsvcs")
    assert not pattern.search(r"C:\Windows\System32\svchost.exe")
    assert pattern.compiled == []  # nothing compiled
    assert pattern.search("C:\\Windows\\Syſtem32\\svchost.exe -k x")  # ſ folds to s: the regex decides
    assert len(pattern.compiled) == 1
    broken = ExpectedPattern.of(r"Windows\\(x")
    assert broken.steps is None and not broken.search(r"Windows\\(x") and broken.compiled == [None]


def test_what_is_not_a_plain_path_has_no_blocks() -> None:
    for regex in ("a.b", "^a", "a$", r"\d", "(a|b)", "a+", "[A-Z]", "[A-Za-z]{2}", ".*?", "é", "a\\"):
        assert plain_blocks(regex) is None, regex
    assert plain_blocks(r"[A-Za-z]:\\x\.y .*z") == ((None, ":\\x.y "), ("z",))
