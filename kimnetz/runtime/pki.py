"""X.509 identities of nodes for gRPC over mutual TLS.

`DevCertificateAuthority` is the small CA of local runs and tests (`kim pki`): it issues a
certificate per node whose subject common name is the node id. Production nodes take their
certificate and the federation's CA from the operator (files named in the settings). Either way
the callee identifies a peer by its certificate's SHA-256 fingerprint, which the node directory
records, so a certificate that is valid but not (or no longer) registered is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class NodeCredentials:
    """PEM bytes of a node's key and certificate, and of the CA that signs its peers."""

    key: bytes
    certificate: bytes
    ca_certificate: bytes

    @classmethod
    def from_files(cls, key: Path, certificate: Path, ca_certificate: Path) -> NodeCredentials:
        return cls(key.read_bytes(), certificate.read_bytes(), ca_certificate.read_bytes())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)


def fingerprint(certificate_pem: bytes) -> str:
    """SHA-256 over the DER form, as `openssl x509 -fingerprint -sha256` shows it (lower case)."""
    der = x509.load_pem_x509_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def write_private(path: Path, data: bytes) -> None:
    """Write a secret (private key, client secret) so that it is never readable by others, not
    even for a moment: a new file created with mode 0600 (O_EXCL, so nobody else's file or link
    is reused), written and synced, then renamed over `path` in one step. Writing the file
    first and restricting it afterwards left a window in which it was world-readable, and an
    existing file with wider rights kept them while the new secret was written into it."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)  # whatever the umask: exactly owner read/write
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "KIM-Netz"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class DevCertificateAuthority:
    """A CA for local federations: ECDSA P-256, certificates valid for `days`."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self.certificate = certificate

    @classmethod
    def create(cls, name: str = "KIM-Netz Entwicklungs-CA", days: int = 365) -> DevCertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def load(cls, directory: Path) -> DevCertificateAuthority:
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the CA key is not an EC key")
        return cls(key, x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes()))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        write_private(directory / "ca.key", _pem_key(self._key))
        (directory / "ca.crt").write_bytes(self.ca_pem)

    @property
    def ca_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, node_id: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
              days: int = 90) -> NodeCredentials:
        """A certificate for one node, usable as TLS server and client (mutual TLS)."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(node_id)]
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(node_id))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return NodeCredentials(
            _pem_key(key), certificate.public_bytes(serialization.Encoding.PEM), self.ca_pem
        )


def save_node_credentials(credentials: NodeCredentials, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_private(directory / "node.key", credentials.key)
    (directory / "node.crt").write_bytes(credentials.certificate)
    (directory / "ca.crt").write_bytes(credentials.ca_certificate)
