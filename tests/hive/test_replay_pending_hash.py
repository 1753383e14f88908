"""The replayed image takes the evidence file's sha256 without waiting for it (hive/source.py
``HiveSource.derived``): the hash of a large file runs on a thread while the replay and the
rebuild go on, and is read only when a record or report asks for it."""

from __future__ import annotations

from hivescan.hive.source import HiveSource


def test_derived_hands_on_a_pending_hash_unread() -> None:
    asked: list[str] = []

    def pending() -> str:
        asked.append("hash")
        return "ab" * 32

    source = HiveSource("SYSTEM", b"regf" + bytes(100), pending)
    replayed = source.derived(b"regf" + bytes(200), "replayed 1 log entry")
    assert asked == []  # deriving did not wait for the hash
    assert replayed.sha256 == "ab" * 32 and asked == ["hash"]
    assert replayed.location["derived"] == "replayed 1 log entry" and replayed.data == b"regf" + bytes(200)
    assert source.sha256 == "ab" * 32  # the evidence's own: the same value


def test_derived_keeps_a_known_hash() -> None:
    source = HiveSource("SYSTEM", b"regf" + bytes(100), "cd" * 32)
    assert source.derived(b"regf", "x").sha256 == "cd" * 32
