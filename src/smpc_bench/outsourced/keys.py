"""Key pairs of an outsourced round: each server's HPKE and TLS keys, each contributor's result key.

A compute server has two key pairs, both made on its own machine (``smpc-bench keygen --server
I``), whose private halves never leave it:

* ``server<I>.hpke.key`` / ``.hpke.pub``: X25519 for HPKE; contributors seal the server's
  shares to the public key (:mod:`smpc_bench.outsourced.envelope`).
* ``server<I>.tls.key`` / ``.tls.crt``: ECDSA P-256 and a self-signed certificate for the intake
  service's HTTPS, with the URL's host as subject alternative name; contributors pin exactly
  this certificate (no public CA is involved).

A contributor makes an X25519 result key pair; the servers seal its private result shares to
the public half, and only the contributor's machine holds the private half.

Private keys are written with mode 0600 and an existing file is never overwritten.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Reading published keys is an input of every party; re-exported here for one import path.
from smpc_bench.inputs.public_keys import (
    KeyFileError,
    load_public_key,
    public_key_fingerprint,
    public_key_from_pem,
)

__all__ = [
    "KeyFileError",
    "ServerKeyFiles",
    "generate_result_key",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "make_server_keys",
    "public_key_fingerprint",
    "public_key_from_pem",
    "public_key_pem",
    "write_private_key",
]


class ServerKeyFiles:
    """Where ``keygen --server I`` puts server ``I``'s files inside a folder."""

    def __init__(self, folder: Path, index: int) -> None:
        self.folder = Path(folder)
        self.index = index
        self.hpke_key = self.folder / f"server{index}.hpke.key"
        self.hpke_pub = self.folder / f"server{index}.hpke.pub"
        self.tls_key = self.folder / f"server{index}.tls.key"
        self.tls_crt = self.folder / f"server{index}.tls.crt"

    def all(self) -> list[Path]:
        """The four files: HPKE private, HPKE public, TLS private, TLS certificate."""
        return [self.hpke_key, self.hpke_pub, self.tls_key, self.tls_crt]


def _private_pem(key: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_private_key(path: Path, data: bytes) -> None:
    """Write a private key file with mode 0600, refusing to replace an existing file.

    Raises:
        FileExistsError: ``path`` exists (a private key is never overwritten).
    """
    try:
        # O_EXCL: refuse an existing file, even one created between a check and this call.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{path} already exists; a private key is never overwritten "
                              "(move it away first if you really mean to replace it)") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, 0o600)  # in case the umask was stricter than needed or the fs ignores mode


def public_key_pem(key: x25519.X25519PublicKey) -> str:
    """PEM (SubjectPublicKeyInfo) text of an X25519 public key."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_private_key(path: Path) -> x25519.X25519PrivateKey:
    """Read an X25519 private key (PEM PKCS8) from ``path``.

    Raises:
        KeyFileError: Missing or not an X25519 private key.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"private key {path} not found") from None
    except OSError as error:
        raise KeyFileError(f"cannot read {path}: {error}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"{path}: not a PEM private key ({error})") from None
    if not isinstance(key, x25519.X25519PrivateKey):
        raise KeyFileError(f"{path}: not an X25519 private key")
    return key


def load_certificate(path: Path) -> x509.Certificate:
    """Read a PEM certificate.

    Raises:
        KeyFileError: Missing or not a PEM certificate.
    """
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except FileNotFoundError:
        raise KeyFileError(f"certificate {path} not found") from None
    except (OSError, ValueError) as error:
        raise KeyFileError(f"{path}: not a PEM certificate ({error})") from None


def generate_result_key(path: Path) -> x25519.X25519PrivateKey:
    """Make a contributor's result key pair and write the private key to ``path`` (0600).

    Raises:
        FileExistsError: ``path`` exists.
    """
    key = x25519.X25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_key(path, _private_pem(key))
    return key


def _subject_alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _tls_certificate(key: ec.EllipticCurvePrivateKey, name: str, host: str, days: int
                     ) -> x509.Certificate:
    """A self-signed server certificate that OpenSSL's strict verification accepts."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smpc-bench server")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([_subject_alternative_name(host)]),
                           critical=False)
            # A self-signed certificate pinned as its own trust anchor: CA true, path length 0,
            # so it can sign nothing else; the key usages a TLS server and an anchor need.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False)
            .sign(key, hashes.SHA256()))


def make_server_keys(folder: Path, index: int, *, name: str, host: str, days: int = 365
                     ) -> ServerKeyFiles:
    """Make server ``index``'s HPKE key pair and TLS key and self-signed certificate.

    Args:
        folder: Where to write (created if needed, mode 0700 when new).
        index: The server's index in ``[[outsourced.servers]]``.
        name: The server's name (the certificate's common name).
        host: The host of its URL (IP address or DNS name; the certificate's SAN).
        days: Certificate validity.

    Returns:
        The written files.

    Raises:
        FileExistsError: Any of the four files exists already (nothing is written then).
    """
    files = ServerKeyFiles(folder, index)
    existing = [str(p) for p in files.all() if p.exists()]
    if existing:
        raise FileExistsError(f"{', '.join(existing)} already exist(s); keys are never "
                              "overwritten (choose another --out folder, or move them away)")
    files.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    hpke = x25519.X25519PrivateKey.generate()
    tls = ec.generate_private_key(ec.SECP256R1())
    write_private_key(files.hpke_key, _private_pem(hpke))
    write_private_key(files.tls_key, _private_pem(tls))
    files.hpke_pub.write_text(public_key_pem(hpke.public_key()), encoding="ascii")
    certificate = _tls_certificate(tls, name, host, days)
    files.tls_crt.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return files
