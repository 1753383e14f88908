"""The two YAML loaders of hivescan/yamlload.py: libyaml for shipped files, PyYAML otherwise.

Why: libyaml parses the shipped rules eight times faster, but it is a different scanner and
parser; it may read only what it reads exactly as PyYAML does (same data, same types, same
key order), and everything else stays with PyYAML.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivescan import yamlload
from hivescan.detect.rules import InvalidRule, default_rules_dir, load_rule_file, load_rules, rule_files

needs_libyaml = pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False), reason="PyYAML was built without libyaml: nothing to compare"
)


def _typed(value: object) -> object:
    """The value with every type and every mapping's key order made visible to ``==``."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


@needs_libyaml
@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.stem)
def test_every_shipped_rule_file_is_the_same_data_with_either_loader(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8")
    assert _typed(yaml.load(text, Loader=yaml.CSafeLoader)) == _typed(yaml.safe_load(text))


def test_the_shipped_rules_load_the_same_through_either_loader() -> None:
    fast = load_rules()
    reference = tuple(load_rule_file(p, root=default_rules_dir()) for p in rule_files())
    assert fast.rules == reference


# Texts where libyaml and PyYAML disagree (found by generating texts): libyaml's answer
# first. None of them may reach libyaml unless shipped.
DISAGREE = [
    ("!", ""),  # PyYAML: None
    ("__[\t\n@\t", "__[ @"),  # PyYAML: a scanner error (a tab)
    ("\ufeff\ufeff-  ", [None]),  # PyYAML: '\ufeff-'
    (">#", ""),  # PyYAML: a scanner error (no space before the comment)
]


@needs_libyaml
@pytest.mark.parametrize(("text", "libyaml"), DISAGREE)
def test_texts_from_outside_are_read_by_pyyaml_even_where_libyaml_would_differ(text: str, libyaml: object) -> None:
    assert yaml.load(text, Loader=yaml.CSafeLoader) == libyaml
    try:
        expected: object = ("ok", yaml.safe_load(text))
    except yaml.YAMLError as exc:
        expected = ("error", str(exc))
    try:
        got: object = ("ok", yamlload.load(text))
    except yaml.YAMLError as exc:
        got = ("error", str(exc))
    assert got == expected and got != ("ok", libyaml)


@needs_libyaml
def test_a_rule_folder_given_by_the_user_is_read_by_pyyaml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A tab after a key's colon: libyaml reads it, PyYAML refuses it; a user's folder gets PyYAML's answer.
    rule = rule_files()[0].read_text(encoding="utf-8")
    (tmp_path / "mine").mkdir()
    bad = rule.replace("title: ", "title:\t", 1)
    assert bad != rule and yaml.load(bad, Loader=yaml.CSafeLoader)
    (tmp_path / "mine" / "bad.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(InvalidRule) as caught:
        load_rules(tmp_path)
    try:
        yaml.safe_load(bad)
    except yaml.YAMLError as exc:
        assert str(exc) in str(caught.value)
    else:  # pragma: no cover - the text above is one PyYAML refuses
        pytest.fail("PyYAML accepted the text")


def test_an_error_in_a_shipped_file_is_pyyamls_own_message() -> None:
    # libyaml's marks have no snippet of the offending line; the message must stay PyYAML's.
    text = "a: [1, 2\nb: 3\n"
    with pytest.raises(yaml.YAMLError) as fast:
        yamlload.load_shipped(text)
    with pytest.raises(yaml.YAMLError) as reference:
        yaml.safe_load(text)
    assert str(fast.value) == str(reference.value)


YAML_PIECES = st.sampled_from(
    [
        *"ab1:- \n'\"#[]{},&*!|>?%@.0eE+x_~é",
        "true",
        "null",
        "2001-12-14",
        "2001-12-14 21:59:43.10-05:00",
        "0x1F",
        "0o17",
        "1_000",
        ".inf",
        ".nan",
        "~",
        "<<",
        "!!str ",
        "!!int ",
        "!!binary ",
        "---",
        "...",
        "  ",
        "a: 1\n",
        "a: 2\n",
        "- x\n",
        "k: &A v\n",
        "r: *A\n",
        "? c\n: d\n",
    ]
)


def _outcome(load, text: str) -> object:  # type: ignore[no-untyped-def]
    """("ok", typed data) or ("error", type, message): PyYAML's constructor can raise more than
    YAMLError (``!!int `` -> IndexError), and every failure must stay the same failure."""
    try:
        return ("ok", _typed(load(text)))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _reference(text: str) -> object:
    """yaml.safe_load's outcome, a failure that is not a YAMLError made one (yamlload.load's promise)."""
    try:
        return ("ok", _typed(yaml.safe_load(text)))
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__, str(exc))
    except Exception as exc:
        return ("error", "YAMLError", f"a value its tag cannot hold ({type(exc).__name__}: {exc})")


@needs_libyaml
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(YAML_PIECES, max_size=30).map("".join))
def test_shipped_loading_falls_back_to_pyyaml_on_every_libyaml_failure(text: str) -> None:
    """Where libyaml fails, load_shipped fails exactly as the reference does (or gives its data);
    where it succeeds, it is libyaml's data (the rule files are compared one by one above)."""
    libyaml = _outcome(lambda t: yaml.load(t, Loader=yaml.CSafeLoader), text)
    expected = _reference(text) if libyaml[0] == "error" else libyaml  # type: ignore[index]
    assert _outcome(yamlload.load_shipped, text) == expected
    assert _outcome(yamlload.load, text) == _reference(text)


@pytest.mark.parametrize("value", ['!!int ""', "!!float x", "!!timestamp 2020-13-45", "!!bool maybe", "!!int 0x"])
def test_a_value_its_tag_cannot_hold_is_a_bad_rule_file_not_a_bug(tmp_path, value: str) -> None:  # type: ignore[no-untyped-def]
    """PyYAML's constructors raise IndexError, ValueError, KeyError on these: a user's rule file
    holding one is an invalid rule naming the file (the CLI's one-line error, exit 2), never an
    internal error."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "bad.yaml").write_text(f"id: bad\ntitle: {value}\n", encoding="utf-8")
    with pytest.raises(InvalidRule, match=r"bad\.yaml: a value its tag cannot hold \("):
        load_rules(tmp_path)
