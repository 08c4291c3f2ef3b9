"""Make the TLS certificates of a consortium (``smpc-bench certs``), with ``cryptography``.

Same shape as MPyC's ``demos/.config/generate-certificates.py``, which ``--ssl`` expects
(``.config/party_{i}.crt``/``.key`` and ``.config/mpyc_ca.crt``, see
:mod:`smpc_bench.inputs.tls`): one self-signed CA, and per party ``i`` a key and a certificate
with subject CN ``MPyC party {i}`` (MPyC checks that name when it connects to party ``i``).
With ``names`` (the firms of ``[[parties]]``), the certificate also names the firm, as its
organization (O; the consortium is the organizational unit, OU): the parties check it after the
TLS handshake (:mod:`smpc_bench.engine.liveness`) and refuse a peer whose certificate names
another firm than its ``[[parties]]`` entry, or that claims another index than its own.  The CA
key signs the party certificates and is then best kept offline.  Hand each firm only its own
``party_{i}.key`` (privately), and every firm the CA certificate; never commit keys (inside a
git work tree a ``.gitignore`` keeping ``*.key`` out is written next to them).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["CA_NAME", "make_certificates"]

#: Subject of the CA certificate.
CA_NAME = "smpc-bench consortium CA"


def _key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(common_name: str, organization: str, unit: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
    if unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _in_git_work_tree(folder: Path) -> bool:
    return any((parent / ".git").exists() for parent in (folder, *folder.parents))


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _certificate(subject: x509.Name, public_key: rsa.RSAPublicKey, issuer: x509.Name,
                 signer: rsa.RSAPrivateKey, days: int, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False), critical=True)
    return builder.sign(signer, hashes.SHA256())


def make_certificates(folder: str | Path, parties: int, *, organization: str = "smpc-bench",
                      days: int = 365, bits: int = 2048,
                      names: Sequence[str] | None = None) -> list[Path]:
    """Write ``mpyc_ca.crt``/``.key`` and ``party_{i}.crt``/``.key`` for ``i < parties``.

    Args:
        folder: Where to write (created if needed); existing files are refused.
        parties: Number of parties.
        organization: The consortium's name: the CA's organization, and the organization of
            the party certificates when ``names`` is not given.
        days: Validity.
        bits: RSA key size.
        names: The firms' names by party index (``[[parties]]``): each certificate names its
            firm as organization (O) and the consortium as unit (OU).

    Returns:
        The files written.
    """
    if parties < 1:
        raise ValueError("parties must be at least 1")
    if names is not None and len(names) != parties:
        raise ValueError(f"{len(names)} firm names for {parties} parties")
    if names is not None and any(not name.strip() for name in names):
        raise ValueError("every firm needs a name for its certificate")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = ["mpyc_ca.crt", "mpyc_ca.key"] + [f"party_{i}.{ext}" for i in range(parties)
                                              for ext in ("crt", "key")]
    existing = [n for n in files if (out / n).exists()]
    if existing:
        raise FileExistsError(f"{out} already holds {', '.join(existing)}; "
                              "choose an empty folder")
    ca_key = _key(bits)
    ca_name = _name(CA_NAME, organization)
    ca_cert = _certificate(ca_name, ca_key.public_key(), ca_name, ca_key, days, ca=True)
    written = [out / "mpyc_ca.crt", out / "mpyc_ca.key"]
    written[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key, written[1])
    for i in range(parties):
        key = _key(bits)
        subject = (_name(f"MPyC party {i}", organization) if names is None
                   else _name(f"MPyC party {i}", names[i], organization))
        cert = _certificate(subject, key.public_key(), ca_name, ca_key, days, ca=False)
        crt_path, key_path = out / f"party_{i}.crt", out / f"party_{i}.key"
        crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        written += [crt_path, key_path]
    ignore = out / ".gitignore"
    if _in_git_work_tree(out.resolve()) and not ignore.exists():
        ignore.write_text("# private keys never go into the repository\n*.key\n",
                          encoding="utf-8")
        written.append(ignore)
    return written
