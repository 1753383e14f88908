"""Catalog member hashes: the fast DER walk agrees with asn1crypto, and never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.files.authenticode import check_signed_data
from hivescan.files.catalogs import _fast_members, asn1_members, catalog_members, ctl_content
from hivescan.testing.pe import build_catalog


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), max_size=40))
def test_fast_walk_equals_asn1crypto(hashes: list[bytes]) -> None:
    check = check_signed_data(build_catalog(hashes), verify=False)
    assert check.status == "unverified"
    assert _fast_members(check.content) == asn1_members(check.content)[0] == hashes
    assert ctl_content(build_catalog(hashes)) == check.content


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 599), st.integers(0, 255))
def test_damaged_catalog_content_never_raises(prefix: bytes, offset: int, value: int) -> None:
    content = bytearray(check_signed_data(build_catalog([bytes(32), b"\xaa" * 32]), verify=False).content)
    if offset < len(content):
        content[offset] = value
    for data in (bytes(content), prefix):
        check = check_signed_data(build_catalog([]), verify=False)
        check.content = data
        members, problems = catalog_members(check)
        assert isinstance(members, list) and isinstance(problems, list)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(0, 255))
def test_damaged_catalog_file_never_raises(offset: int, value: int) -> None:
    from hivescan.files.catalogs import CatalogIndex
    from hivescan.files.source import FolderSource

    data = bytearray(build_catalog([bytes(32), b"\xaa" * 32]))
    if offset < len(data):
        data[offset] = value
    index = CatalogIndex(FolderSource("."))
    index.add("x.cat", bytes(data))
    assert index.catalogs == 1
