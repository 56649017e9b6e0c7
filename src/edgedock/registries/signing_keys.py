"""ES256 signing keys of a brokered registry: generated, sealed, and used to sign tokens.

Each key comes with a self-signed certificate; the registry trusts the certificates listed in
its `rootcertbundle`. A token carries its key's certificate as `x5c` (what Distribution checks
first) and the key's libtrust fingerprint as `kid` (what Distribution 2.x looks keys up by when
there is no chain). The JWK thumbprint, Distribution 3.x's key id, is computed for the bundle
page. The bundle always lists the previous, the current and the next key: the next one is
published ahead, so a rotation (next becomes current) needs no change at the registry.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

# Long enough that no fleet meets it by surprise; rotation replaces keys much sooner.
CERTIFICATE_DAYS = 5 * 365


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class NewKey:
    private_der: bytes  # PKCS#8, to be sealed
    certificate_pem: str
    kid: str


@dataclass(frozen=True)
class Signer:
    """An opened key, ready to sign: kept in memory by the token endpoint, never stored."""

    key: ec.EllipticCurvePrivateKey
    x5c: str  # base64 (standard alphabet, as RFC 7515 says) DER certificate
    kid: str

    def sign(self, claims: dict[str, object]) -> str:
        """A compact ES256 JWS; the signature is r‖s (32 bytes each), not DER."""
        header = {"typ": "JWT", "alg": "ES256", "kid": self.kid, "x5c": [self.x5c]}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self.key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def generate(*, common_name: str) -> NewKey:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return NewKey(
        private_der=private_der,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        kid=libtrust_fingerprint(key.public_key()),
    )


def signer(private_der: bytes, certificate_pem: str) -> Signer:
    key = serialization.load_der_private_key(private_der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("a registry signing key must be an EC key")
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    der = certificate.public_bytes(serialization.Encoding.DER)
    return Signer(
        key=key,
        x5c=base64.b64encode(der).decode("ascii"),
        kid=libtrust_fingerprint(key.public_key()),
    )


def libtrust_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """libtrust's key id: SHA-256 of the DER public key, 240 bits, base32, groups of four."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def jwk_thumbprint(certificate_pem: str) -> str:
    """RFC 7638 thumbprint of the certificate's key (Distribution 3.x's `kid`)."""
    public_key = x509.load_pem_x509_certificate(certificate_pem.encode("ascii")).public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueError("a registry signing key must be an EC key")
    numbers = public_key.public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())
