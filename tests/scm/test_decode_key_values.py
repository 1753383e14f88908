"""The record builder's own pass over a key's values (scm/keyfields.py ``decode_key``).

It reads the clean DWORD and string itself (the decoders' first test, inlined for speed);
whatever the value holds, each field must be what the decoder gives, with the decoder's
notes, and the source of a string field is the registry.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
from hivescan.scm import keyfields
from hivescan.scm.decode import decode_dword, decode_string
from hivescan.scm.keywalk import WalkedKey

TYPES = st.sampled_from([REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_BINARY, REG_MULTI_SZ, 0, 11])
TEXTS = st.text(alphabet=st.characters(codec="utf-16", exclude_categories=()), max_size=12)


def string_data() -> st.SearchStrategy[bytes]:
    """Clean strings, strings with a NUL or odd length or no terminator, and random bytes."""
    clean = TEXTS.map(lambda t: t.encode("utf-16-le", "surrogatepass") + b"\0\0")
    tail = st.tuples(TEXTS, TEXTS).map(lambda p: (p[0] + "\0" + p[1]).encode("utf-16-le", "surrogatepass") + b"\0\0")
    return st.one_of(clean, tail, st.binary(max_size=16))


@settings(max_examples=300, deadline=None)
@given(
    dword=st.tuples(TYPES, st.one_of(st.binary(min_size=4, max_size=4), st.binary(max_size=6)), st.booleans()),
    image=st.tuples(TYPES, string_data(), st.booleans()),
    display=st.tuples(TYPES, string_data(), st.booleans()),
)
def test_fields_are_the_decoders_answers(
    dword: tuple[int, bytes, bool], image: tuple[int, bytes, bool], display: tuple[int, bytes, bool]
) -> None:
    values = [
        RawValue("Start", dword[0], dword[1], "cells", dword[2]),
        RawValue("ImagePath", image[0], image[1], "cells", image[2]),
        RawValue("DisplayName", display[0], display[1], "cells", display[2]),
        RawValue("Type", REG_DWORD, b"\x10\0\0\0", "cells", True),
    ]
    key = WalkedKey("Svc", "ControlSet001\\Services\\Svc", 0, "regipy-rs", values)
    fields = keyfields.decode_key(key, [], values, {}, [], None, False, None)
    start, start_notes = decode_dword("Start", values[0])
    assert fields.get("start") == start
    notes = [d for d in fields["diagnostics"] if d.field == "Start"]
    assert notes[: len(start_notes)] == start_notes  # the decoder's notes first, then the record's own
    for value, field in ((values[1], "image_path"), (values[2], "display_name")):
        decoded, more = decode_string(value.name, value)
        assert fields.get(field) == decoded.value, field
        assert fields["sources"][field] == "registry"
        notes = [d for d in fields["diagnostics"] if d.field == value.name]
        assert notes[: len(more)] == more
    assert fields["image_path_type"] is not None
