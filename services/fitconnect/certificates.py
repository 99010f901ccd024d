"""The certificates of the destinations' encryption keys (the JWK's ``x5c``).

FIT-Connect publishes each encryption key with its certificate chain. Amtsweg's default is
an *instance CA*: a CA certificate and key (``AMTSWEG_FITCONNECT_CA_CERT_FILE``,
``…_CA_KEY_FILE``, PEM) that certify every key Amtsweg makes; ``x5c`` is the key's
certificate, then the CA's. Operators replace it with their own CA, or give a destination
a key pair certified by a real PKI (``AMTSWEG_FITCONNECT_DESTINATION_KEYS_FOLDER``,
:func:`operator_key`). In development a CA is made in ``<data dir>/keys/`` on first need.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from services.runtime.key_files import create_file

DEVELOPMENT_CA = Path("keys") / "fit-connect-ca.json"
"""The development CA inside the data dir: certificate and key (PEM) in one JSON file."""
CA_DAYS = 3650

CAKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertificateError(Exception):
    """The CA or a destination's operator key is missing, unreadable or unusable."""


def x5c_of(chain: list[x509.Certificate]) -> list[str]:
    """The JWK ``x5c`` member: base64 (not URL-safe) DER, leaf first (RFC 7517 §4.7)."""
    return [
        base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode() for cert in chain
    ]


@dataclass(frozen=True)
class InstanceCA:
    """The CA that certifies the keys Amtsweg makes."""

    certificate: x509.Certificate
    key: CAKey

    def certify(
        self,
        public_key: rsa.RSAPublicKey,
        destination_id: uuid.UUID,
        days: int,
        *,
        signing: bool = False,
    ) -> list[x509.Certificate]:
        """A certificate for ``public_key`` (key encipherment; ``signing``: digital
        signature, for the destination's signing key), then the CA's."""
        name = f"FIT-Connect destination {destination_id}"
        usage = _usage(key_encipherment=not signing, digital_signature=signing)
        return self._issue(public_key, name, usage, days)

    def certify_signing(
        self, public_key: rsa.RSAPublicKey, kid: str, days: int
    ) -> list[x509.Certificate]:
        """A certificate for the event log's signing key ``kid`` (digital signature), then
        the CA's."""
        name = f"FIT-Connect event log key {kid}"
        return self._issue(public_key, name, _usage(digital_signature=True), days)

    def _issue(
        self, public_key: rsa.RSAPublicKey, common_name: str, usage: x509.KeyUsage, days: int
    ) -> list[x509.Certificate]:
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amtsweg"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        leaf = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return [leaf, self.certificate]

    @classmethod
    def read(cls, cert_file: Path, key_file: Path) -> InstanceCA:
        """The CA in two PEM files; ``CertificateError`` naming what is wrong."""
        try:
            certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as error:
            what = type(error).__name__
            msg = f"the FIT-Connect CA ({cert_file}, {key_file}) cannot be read ({what})"
            raise CertificateError(msg) from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{key_file}: the CA key must be RSA or EC")
        if _spki(certificate.public_key()) != _spki(key.public_key()):
            raise CertificateError(f"{key_file} is not the key of the certificate {cert_file}")
        return cls(certificate, key)

    @classmethod
    def generate(cls) -> InstanceCA:
        """A new self-signed CA (P-256), for development."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amtsweg"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Amtsweg FIT-Connect development CA"),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(key_cert_sign=True), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    def document(self) -> dict[str, str]:
        """Certificate and key as PEM texts (the development file)."""
        key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cert_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        return {"certificate": cert_pem.decode(), "key": key_pem.decode()}

    @classmethod
    def of_document(cls, document: dict[str, str], source: Path) -> InstanceCA:
        """The CA of :meth:`document`'s form."""
        try:
            certificate = x509.load_pem_x509_certificate(document["certificate"].encode())
            key = serialization.load_pem_private_key(document["key"].encode(), password=None)
        except (KeyError, ValueError, TypeError) as error:
            raise CertificateError(f"{source} cannot be read ({type(error).__name__})") from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{source}: the CA key must be RSA or EC")
        return cls(certificate, key)


def _spki(public_key: Any) -> bytes:
    """The DER SubjectPublicKeyInfo: equal for the same public key of any type."""
    spki: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki


def _usage(
    *, key_encipherment: bool = False, key_cert_sign: bool = False, digital_signature: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def instance_ca(
    cert_file: Path | None, key_file: Path | None, data_dir: Path, *, development: bool
) -> InstanceCA:
    """The configured CA; in development one is made in the data dir if none is set."""
    if cert_file is not None and key_file is not None:
        return InstanceCA.read(cert_file, key_file)
    if not development:
        msg = (
            "AMTSWEG_FITCONNECT_CA_CERT_FILE and AMTSWEG_FITCONNECT_CA_KEY_FILE are not both "
            "set: outside development mode the certificates of the FIT-Connect destinations' "
            "encryption keys come from your CA (PEM files), or set AMTSWEG_DEVELOPMENT=1"
        )
        raise CertificateError(msg)
    path = data_dir / DEVELOPMENT_CA
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it: its CA
            create_file(path, InstanceCA.generate().document())
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CertificateError(f"{path} cannot be read ({type(error).__name__})") from None
    return InstanceCA.of_document(document, path)


def operator_key(
    folder: Path | None, destination_id: uuid.UUID
) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]] | None:
    """The operator's key pair for the destination (``<folder>/<destination id>.pem``: an
    RSA private key, then its certificate chain, leaf first), if there is one."""
    if folder is None:
        return None
    path = folder / f"{destination_id}.pem"
    if not path.exists():
        return None
    try:
        pem = path.read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        chain = x509.load_pem_x509_certificates(pem)
    except (OSError, ValueError, TypeError) as error:
        raise CertificateError(f"{path} cannot be read ({type(error).__name__})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 4096:
        raise CertificateError(f"{path}: a destination key is RSA of at least 4096 bits")
    if _spki(chain[0].public_key()) != _spki(key.public_key()):
        raise CertificateError(f"{path}: the first certificate is not the key's")
    return key, chain
