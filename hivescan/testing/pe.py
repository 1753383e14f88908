"""Small valid PE files for tests, and signing them with a CA made for the test.

:func:`build_pe` writes a PE32+ image (x64 by default) with one code section: enough for
pefile, Authenticode hashing and ``osslsigncode``. :class:`TestCA` makes a root and a
code-signing certificate with ``openssl`` and signs PE and catalog files with
``osslsigncode``; both are Debian tools (``.ci/run`` installs them). Nothing here is used by
hivescan itself.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

IMAGE_FILE_EXECUTABLE_IMAGE = 0x0002
IMAGE_FILE_LARGE_ADDRESS_AWARE = 0x0020
IMAGE_FILE_DLL = 0x2000


def build_pe(*, machine: int = 0x8664, subsystem: int = 3, dll: bool = False, code: bytes = b"\xc3" * 16) -> bytes:
    """A minimal PE32+ file: DOS header, PE header, optional header, one .text section."""
    file_align, section_align = 0x200, 0x1000
    e_lfanew = 0x80
    dos = bytearray(e_lfanew)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, e_lfanew)
    optional_size = 112 + 16 * 8
    characteristics = IMAGE_FILE_EXECUTABLE_IMAGE | IMAGE_FILE_LARGE_ADDRESS_AWARE | (IMAGE_FILE_DLL if dll else 0)
    coff = b"PE\0\0" + struct.pack("<HHIIIHH", machine, 1, 0x5F000000, 0, 0, optional_size, characteristics)
    headers_size = file_align
    raw = code.ljust(file_align, b"\0")
    optional = struct.pack(
        "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII",
        0x20B,  # PE32+
        14,
        0,
        len(raw),  # SizeOfCode
        0,
        0,
        section_align,  # AddressOfEntryPoint
        section_align,  # BaseOfCode
        0x140000000,  # ImageBase
        section_align,
        file_align,
        6,
        0,
        0,
        0,
        6,
        0,
        0,  # Win32VersionValue
        section_align * 2,  # SizeOfImage
        headers_size,
        0,  # CheckSum
        subsystem,
        0x8160,  # DllCharacteristics: dynamic base, NX, terminal-server aware, high entropy VA
        0x100000,
        0x1000,
        0x100000,
        0x1000,
        0,
        16,
    )
    optional += b"\0" * (16 * 8)
    section = struct.pack(
        "<8sIIIIIIHHI", b".text", len(code), section_align, len(raw), headers_size, 0, 0, 0, 0, 0x60000020
    )
    header = bytes(dos) + coff + optional + section
    return header.ljust(headers_size, b"\0") + raw


def have_signing_tools() -> str | None:
    """None when openssl and osslsigncode are on PATH, else what is missing."""
    missing = [tool for tool in ("openssl", "osslsigncode") if shutil.which(tool) is None]
    return ", ".join(missing) or None


@dataclass
class TestCA:
    """A root CA and a code-signing certificate, made with openssl in ``folder``."""

    __test__ = False  # not a pytest test class
    folder: Path
    name: str = "Test Root CA"

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca_key, self.ca_cert = self.folder / "ca.key", self.folder / "ca.crt"
        self.key, self.cert = self.folder / "leaf.key", self.folder / "leaf.crt"
        if self.cert.exists():
            return
        ca = ("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.ca_key, "-out", self.ca_cert)
        self._run((*ca, "-days", "3650", "-subj", f"/CN={self.name}", "-addext", "basicConstraints=critical,CA:TRUE"))
        csr = self.folder / "leaf.csr"
        leaf = ("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", csr)
        self._run((*leaf, "-subj", "/CN=Test Publisher"))
        ext = self.folder / "ext.cnf"
        ext.write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\nkeyUsage=digitalSignature\n")
        issue = ("openssl", "x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key, "-CAcreateserial")
        self._run((*issue, "-out", self.cert, "-days", "365", "-extfile", ext))

    @staticmethod
    def _run(args: Sequence[object]) -> None:
        subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=120)

    def sign(self, unsigned: Path, signed: Path) -> Path:
        """``osslsigncode sign`` (PE or catalog file) with the code-signing certificate."""
        signed.unlink(missing_ok=True)  # osslsigncode will not overwrite
        self._run(["osslsigncode", "sign", "-certs", self.cert, "-key", self.key, "-in", unsigned, "-out", signed])
        return signed


def build_catalog(authentihashes: Sequence[bytes]) -> bytes:
    """An unsigned catalog (.cat): SignedData with no signer around a CTL listing these
    SHA-256 Authenticode hashes, as MakeCat writes them (tag = hash, indirect data = hash).
    ``osslsigncode sign`` adds the signature."""
    from datetime import UTC, datetime

    from asn1crypto import algos, cms, core

    from hivescan.files.authenticode import SPC_INDIRECT_DATA, SpcIndirectDataContent
    from hivescan.files.catalogs import CertificateTrustList

    sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
    subjects = []
    for digest in authentihashes:
        indirect = SpcIndirectDataContent(
            {
                "data": {"type": "1.3.6.1.4.1.311.2.1.15"},  # SPC_PE_IMAGE_DATA
                "message_digest": {"digest_algorithm": sha256, "digest": digest},
            }
        )
        attr = {"type": SPC_INDIRECT_DATA, "values": [core.Any.load(indirect.dump())]}
        subjects.append({"identifier": digest.hex().upper().encode("utf-16-le"), "attributes": [attr]})
    ctl = CertificateTrustList(
        {
            "subject_usage": ["1.3.6.1.4.1.311.12.1.1"],  # catalog list
            "list_identifier": b"\x01" * 16,
            "this_update": cms.Time({"utc_time": datetime(2024, 1, 1, tzinfo=UTC)}),
            "subject_algorithm": {"algorithm": "1.3.6.1.4.1.311.12.1.2"},  # catalog member hash list
            "subjects": subjects,
        }
    )
    # built by hand: asn1crypto leaves out the [0] EXPLICIT around content of a type it does not know
    content_info = _tlv(0x30, core.ObjectIdentifier("1.3.6.1.4.1.311.10.1").dump() + _tlv(0xA0, ctl.dump()))
    signed = _tlv(0x30, core.Integer(1).dump() + _tlv(0x31, sha256.dump()) + content_info + _tlv(0x31, b""))
    return _tlv(0x30, core.ObjectIdentifier("1.2.840.113549.1.7.2").dump() + _tlv(0xA0, signed))


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element (definite length)."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content
