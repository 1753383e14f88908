"""Optional parts of explanation templates (``[[...]]``): a sentence about a file the service
does not have is left out, not filled with "none"; a part about one it has is shown whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hivescan.detect.engine import render_explanation
from hivescan.detect.fields import Subject
from hivescan.scm.record import HiveRef, Origin, ServiceRecord


def _subject(**values: object) -> Subject:
    origin = Origin(HiveRef("SYSTEM", "0" * 64), 1, "ControlSet001\\Services\\Svc", 0, "test")
    return Subject(ServiceRecord(name="Svc", status="database", origin=origin, **values))  # type: ignore[arg-type]


def test_a_part_is_shown_when_its_first_placeholder_has_a_value() -> None:
    template = 'image {image_path}[[; ServiceDll {service_dll} ({display_name|"no name"})]].'
    without = _subject(image_path="C:\\x.exe")
    assert render_explanation(template, without, {}) == "image C:\\x.exe."
    both = _subject(image_path="C:\\x.exe", service_dll="C:\\y.dll")
    assert render_explanation(template, both, {}) == "image C:\\x.exe; ServiceDll C:\\y.dll (no name)."


def test_a_literal_alternative_does_not_keep_a_part() -> None:
    template = '[[ServiceDll {service_dll|"none"}]]'
    assert render_explanation(template, _subject(), {}) == ""
    assert render_explanation(template, _subject(service_dll="C:\\y.dll"), {}) == "ServiceDll C:\\y.dll"


def test_text_without_placeholders_and_literal_braces_stay() -> None:
    subject = _subject(image_path="C:\\x.exe")
    assert render_explanation("[[plain]] {{a}} [x]", subject, {}) == "plain {a} [x]"


@given(
    before=st.text(alphabet=st.characters(blacklist_characters="[]{}"), max_size=20),
    inside=st.text(alphabet=st.characters(blacklist_characters="[]{}"), max_size=20),
    dll=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
)
def test_part_is_all_or_nothing(before: str, inside: str, dll: str | None) -> None:
    shown = render_explanation(f"{before}[[{inside}{{service_dll}}]]", _subject(service_dll=dll), {})
    if dll is None:
        assert shown == before
    else:
        assert shown.startswith(before + inside) and "(no value)" not in shown
