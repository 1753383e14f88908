"""``loldrivers-file``: a service's image file is a LOLDrivers sample by its SHA-256 or, when
the file's hash differs (re-signed, padded), by its authentihash; anything else is no match."""

from __future__ import annotations

from types import SimpleNamespace

from hivescan.catalog.known_bad import _loldriver_authentihashes, _loldriver_hashes, lookup_loldriver_file


def _first(column: str) -> str:
    table, _ = _loldriver_hashes() if column == "sha256" else _loldriver_authentihashes()
    return str(table.rows[0][column])


def test_a_sample_matches_by_sha256_in_any_case() -> None:
    sha = _first("sha256")
    found = lookup_loldriver_file(SimpleNamespace(image_file={"sha256": sha.upper()}))
    assert found is not None and found.facts["matched_on"] == "sha256" and found.key == sha.lower()


def test_a_sample_matches_by_authentihash_when_the_sha256_does_not() -> None:
    authentihash = _first("authentihash")
    record = SimpleNamespace(image_file={"sha256": "0" * 64, "authentihash": authentihash})
    found = lookup_loldriver_file(record)
    assert found is not None and found.facts["matched_on"] == "authentihash" and found.key == authentihash.lower()


def test_no_facts_or_unknown_hashes_are_no_match() -> None:
    assert lookup_loldriver_file(SimpleNamespace(image_file=None)) is None
    assert lookup_loldriver_file(SimpleNamespace(image_file={"sha256": "0" * 64, "authentihash": 5})) is None
