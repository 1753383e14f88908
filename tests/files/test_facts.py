"""File facts on real bytes: hashes, the Authenticode hash, PE headers, version info, signatures."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from hivescan.files.facts import FileAnalyser
from hivescan.files.source import FolderSource
from hivescan.files.trust import roots_from_pem
from hivescan.testing.pe import TestCA, build_catalog, build_pe

CATROOT = Path("Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}")


def _plant(root: Path, relative: str, data: bytes) -> Path:
    path = root.joinpath(*relative.split("\\"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _catroot(root: Path) -> None:
    """A CatRoot with one catalog listing nothing we plant: "unsigned" becomes knowable."""
    _plant(root, str(CATROOT).replace("/", "\\") + "\\Other.cat", build_catalog([bytes(32)]))


def _codes(facts: dict) -> set[str]:
    return {d["code"] for d in facts["diagnostics"]}


def test_unsigned_pe_hashes_and_headers(tmp_path: Path) -> None:
    data = build_pe(subsystem=1)
    _plant(tmp_path, "Windows\\System32\\drivers\\kdx.sys", data)
    _catroot(tmp_path)
    facts = FileAnalyser(FolderSource(tmp_path)).facts("C:\\WINDOWS\\system32\\DRIVERS\\KDX.SYS")
    assert facts is not None
    assert facts["exists"] is True and facts["path"] == "\\Windows\\System32\\drivers\\kdx.sys"
    assert facts["size"] == len(data)
    assert facts["md5"] == hashlib.md5(data).hexdigest()
    assert facts["sha1"] == hashlib.sha1(data).hexdigest()
    assert facts["sha256"] == hashlib.sha256(data).hexdigest()
    assert facts["pe"]["machine"] == "amd64" and facts["pe"]["driver"] is True and facts["pe"]["dll"] is False
    assert facts["signature"]["status"] == "unsigned"
    assert facts["in_windows_folder"] is True


def test_missing_and_other_drive(tmp_path: Path) -> None:
    (tmp_path / "Windows" / "System32").mkdir(parents=True)
    hives_only = FileAnalyser(FolderSource(tmp_path)).facts("C:\\Windows\\System32\\gone.exe")
    assert hives_only is not None and hives_only["exists"] is None  # no binaries collected: unknowable
    assert _codes(hives_only) == {"file_not_collected"}
    (tmp_path / "Windows" / "System32" / "ntdll.dll").write_bytes(b"MZ")
    analyser = FileAnalyser(FolderSource(tmp_path))
    missing = analyser.facts("C:\\Windows\\System32\\gone.exe")
    assert missing is not None and missing["exists"] is False and missing["sha256"] is None
    other = analyser.facts("D:\\tools\\x.exe")
    assert other is not None and other["exists"] is None and "file_not_checked" in _codes(other)
    assert analyser.facts(None) is None


def test_signed_by_test_ca_untrusted_then_valid_with_its_root(tmp_path: Path, test_ca: TestCA) -> None:
    unsigned = tmp_path / "u.exe"
    unsigned.write_bytes(build_pe())
    root = tmp_path / "vol"
    signed = test_ca.sign(unsigned, tmp_path / "s.exe")
    _plant(root, "Program Files\\Acme\\agent.exe", signed.read_bytes())
    facts = FileAnalyser(FolderSource(root)).facts("C:\\Program Files\\Acme\\agent.exe")
    assert facts is not None
    sig = facts["signature"]
    assert sig["status"] == "untrusted" and sig["source"] == "embedded"
    assert sig["signer"] == "CN=Test Publisher" and sig["issuer"] == "CN=Test Root CA"
    assert any("not found among" in r for r in sig["reasons"])
    # the signed file's Authenticode hash is the unsigned file's (the hash skips the signature)
    plain = FileAnalyser(FolderSource(tmp_path)).facts("C:\\u.exe")
    assert plain is not None and plain["authentihash"] == facts["authentihash"]
    roots = roots_from_pem(test_ca.ca_cert.read_bytes())
    trusted = FileAnalyser(FolderSource(root), roots=roots).facts("C:\\Program Files\\Acme\\agent.exe")
    assert trusted is not None and trusted["signature"]["status"] == "valid"
    assert trusted["signature"]["chain"] == ["CN=Test Publisher", "CN=Test Root CA"]


def test_tampered_copy_is_invalid(tmp_path: Path, test_ca: TestCA) -> None:
    unsigned = tmp_path / "u.exe"
    unsigned.write_bytes(build_pe())
    data = bytearray(test_ca.sign(unsigned, tmp_path / "s.exe").read_bytes())
    data[0x200] ^= 0xFF  # the first byte of .text: patched after signing
    root = tmp_path / "vol"
    _plant(root, "Windows\\System32\\tamper.exe", bytes(data))
    roots = roots_from_pem(test_ca.ca_cert.read_bytes())
    facts = FileAnalyser(FolderSource(root), roots=roots).facts("C:\\Windows\\System32\\tamper.exe")
    assert facts is not None and facts["signature"]["status"] == "invalid"
    assert "modified after signing" in facts["signature"]["reasons"][0]


def test_catalog_signs_a_binary(tmp_path: Path, test_ca: TestCA) -> None:
    root = tmp_path / "vol"
    data = build_pe(code=b"\x90" * 32 + b"\xc3")
    _plant(root, "Windows\\System32\\svcok.exe", data)
    _catroot(root)
    probe = FileAnalyser(FolderSource(root)).facts("C:\\Windows\\System32\\svcok.exe")
    assert probe is not None and probe["signature"]["status"] == "unsigned"  # no catalog yet
    unsigned_cat = tmp_path / "u.cat"
    unsigned_cat.write_bytes(build_catalog([bytes(32), bytes.fromhex(probe["authentihash"])]))
    cat = test_ca.sign(unsigned_cat, tmp_path / "s.cat")
    shutil.copy(cat, root / CATROOT / "Acme-Package.cat")
    facts = FileAnalyser(FolderSource(root)).facts("C:\\Windows\\System32\\svcok.exe")
    assert facts is not None
    sig = facts["signature"]
    assert sig["source"] == "catalog" and sig["status"] == "untrusted"  # a catalog-signed file is never "unsigned"
    assert sig["catalog"].endswith("\\Acme-Package.cat")
    roots = roots_from_pem(test_ca.ca_cert.read_bytes())
    trusted = FileAnalyser(FolderSource(root), roots=roots).facts("C:\\Windows\\System32\\svcok.exe")
    assert trusted is not None and trusted["signature"]["status"] == "valid"


def test_real_microsoft_signed_file(tmp_path: Path, shim_signed: Path) -> None:
    """shimx64.efi.signed: Microsoft's UEFI CA signature verifies (digest and signature hold);
    its root (the third-party marketplace root of Secure Boot) is not an Authenticode root."""
    root = tmp_path / "vol"
    _plant(root, "Windows\\System32\\shim.efi", shim_signed.read_bytes())
    facts = FileAnalyser(FolderSource(root)).facts("C:\\Windows\\System32\\shim.efi")
    assert facts is not None
    sig = facts["signature"]
    assert sig["status"] in ("valid", "untrusted"), sig
    assert "Microsoft" in sig["signer"] and sig["source"] == "embedded"
    assert not any("differs" in r or "does not verify" in r for r in sig["reasons"])
    assert sig["signing_time_source"] == "rfc3161"


def test_wine_binary_claims_microsoft_and_renamed_copy(tmp_path: Path, wine_exe) -> None:  # type: ignore[no-untyped-def]
    data = wine_exe("conhost.exe").read_bytes()
    _plant(tmp_path, "Windows\\System32\\conhost.exe", data)
    _plant(tmp_path, "Windows\\updsvc.exe", data)
    _catroot(tmp_path)
    analyser = FileAnalyser(FolderSource(tmp_path))
    same = analyser.facts("C:\\Windows\\System32\\conhost.exe")
    assert same is not None
    assert same["version_info"]["company_name"] == "Microsoft Corporation"
    assert same["claims_microsoft"] is True and same["renamed"] is False
    assert same["signature"]["status"] == "unsigned"
    renamed = analyser.facts("C:\\Windows\\updsvc.exe")
    assert renamed is not None and renamed["renamed"] is True
    assert renamed["version_info"]["original_filename"] == "conhost.exe"


def test_without_catalogs_unsigned_is_not_claimed(tmp_path: Path) -> None:
    _plant(tmp_path, "Windows\\System32\\svc.exe", build_pe())
    analyser = FileAnalyser(FolderSource(tmp_path))
    facts = analyser.facts("C:\\Windows\\System32\\svc.exe")
    assert facts is not None and facts["signature"]["status"] == "error"
    assert "no catalogs" in facts["signature"]["reasons"][0]
    assert [d.code for d in analyser.catalogs.diagnostics] == ["catalogs_absent"]
