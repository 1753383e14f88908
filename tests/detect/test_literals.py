"""The words a regex cannot match without (detect/literals.py) rule out only texts the regex
does not match: every pattern of the shipped rules, on random texts made of its own words,
pieces of its source and random characters, and the compiled predicate that uses them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.detect.compiled import _searched
from hivescan.detect.literals import required_literals
from hivescan.detect.rules import FieldTest, load_rules
from hivescan.detect.verdicts import _nodes
from hivescan.hive.tree import upcase

PATTERNS = sorted(
    {
        (node.op, node.pattern.pattern, node.pattern.flags)
        for rule in load_rules()
        for node in _nodes(rule.match)
        if isinstance(node, FieldTest) and node.op in ("regex", "glob") and node.pattern is not None
    }
)


def _find(op: str, source: str, flags: int) -> tuple[re.Pattern[str], object]:
    pattern = re.compile(source, flags)
    return pattern, (pattern.search if op == "regex" else pattern.match)


def _texts(source: str, words: tuple[str, ...] | None) -> st.SearchStrategy[str]:
    """Texts likely to come near a match: the pattern's words in any case, runs of its source's
    literal characters, path-like characters, and now and then a non-ASCII one."""
    pieces = [w for w in words or ()] + [w.lower() for w in words or ()]
    pieces += [p for p in re.split(r"[\\^$.|?*+()\[\]{}]", source) if p]
    pieces += ["\\", ":", '"', " ", "%", ".exe", "C:", "/c ", "K", "ſ", "ı"]
    atom = st.sampled_from(pieces) | st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=3)
    return st.lists(atom, max_size=12).map("".join)


@pytest.mark.parametrize(("op", "source", "flags"), PATTERNS)
@settings(max_examples=60)
@given(data=st.data())
def test_no_text_the_words_rule_out_is_matched(op: str, source: str, flags: int, data: st.DataObject) -> None:
    pattern, find = _find(op, source, flags)
    words = required_literals(pattern)
    text = data.draw(_texts(source, words))
    predicate = _searched(find, words)  # type: ignore[arg-type]
    expected = bool(find(text))  # type: ignore[operator]
    assert predicate(text, upcase(text)) is expected, (source, text)
    if words is not None and text.isascii() and expected:
        assert any(word in text.upper() for word in words), (source, text)


@pytest.mark.parametrize(
    ("source", "flags", "words"),
    [
        ("cachedump|dumpsvc", re.IGNORECASE, ("CACHEDUMP", "DUMPSVC")),
        ("(powershell|pwsh)", re.IGNORECASE, ("OWERSHELL", "WSH")),  # the parser takes the p out
        ("a|b", re.IGNORECASE, None),  # one-character branches become a class: nothing required
        ("x?abc", 0, ("ABC",)),
        ("(?:ab)*cd", 0, ("CD",)),  # a repeat that may be empty adds nothing
        ("(?:ab)+c", 0, ("AB",)),
        ("\\(A;(?![^;]*IO)", 0, ("(A;",)),
        ("(?-i:AbC)", re.IGNORECASE, ("ABC",)),  # case-sensitive: its upper case is still needed
        ("é+x", re.IGNORECASE, ("X",)),  # a non-ASCII literal ends a run
        ("^.*$", 0, None),
        (r"(\w)\1", 0, None),
    ],
)
def test_required_words_of_shapes(source: str, flags: int, words: tuple[str, ...] | None) -> None:
    assert required_literals(re.compile(source, flags)) == words


@pytest.mark.parametrize("text", ["\u212aelvin.exe", "C:\\mimidrv.sys", "C:\\MIMIDRV.SYS", "ſervice", "plain"])
def test_non_ascii_texts_go_to_the_regex(text: str) -> None:
    """re's case-insensitive pairs beyond ASCII (the Kelvin sign and k, long s and s): such a
    text is never ruled out by the words, the regex answers."""
    pattern = re.compile("kelvin|mimidrv|service", re.IGNORECASE)
    words = required_literals(pattern)
    assert words == ("KELVIN", "MIMIDRV", "SERVICE")
    assert _searched(pattern.search, words)(text, upcase(text)) is bool(pattern.search(text))
