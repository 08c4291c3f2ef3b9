"""HPKE envelopes bound to purpose, round, server and submission; server keys; tokens."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import x25519

from smpc_bench.outsourced.envelope import (
    OVERHEAD,
    RESULT,
    SUBMISSION,
    SealError,
    info_for,
    open_sealed,
    seal_for,
)
from smpc_bench.outsourced.keys import (
    KeyFileError,
    ServerKeyFiles,
    generate_result_key,
    load_certificate,
    load_private_key,
    load_public_key,
    make_server_keys,
    public_key_fingerprint,
    public_key_from_pem,
    public_key_pem,
)
from smpc_bench.outsourced.tokens import (
    hashes_equal,
    is_well_formed,
    new_token,
    token_hash,
    write_enrolment,
)

ROUND = "ab" * 32
SUB = "0123456789abcdef" * 2
CONTEXT = {"purpose": SUBMISSION, "round_id": ROUND, "server_index": 1, "submission_id": SUB}


@pytest.fixture(scope="module")
def key() -> x25519.X25519PrivateKey:
    return x25519.X25519PrivateKey.generate()


def test_round_trip_and_overhead(key: x25519.X25519PrivateKey) -> None:
    message = b"shares of a contribution" * 10
    sealed = seal_for(key.public_key(), message, **CONTEXT)
    assert len(sealed) == len(message) + OVERHEAD
    assert open_sealed(key, sealed, **CONTEXT) == message
    # Randomised: the same message seals differently every time.
    assert seal_for(key.public_key(), message, **CONTEXT) != sealed


@pytest.mark.parametrize("change", [
    {"round_id": "cd" * 32},
    {"server_index": 2},
    {"submission_id": "f" * 32},
    {"purpose": RESULT},
])
def test_another_context_does_not_open(key: x25519.X25519PrivateKey, change: dict) -> None:
    sealed = seal_for(key.public_key(), b"secret", **CONTEXT)
    with pytest.raises(SealError, match="does not open"):
        open_sealed(key, sealed, **{**CONTEXT, **change})


def test_another_key_tampering_and_truncation_do_not_open(key: x25519.X25519PrivateKey) -> None:
    sealed = seal_for(key.public_key(), b"secret message", **CONTEXT)
    with pytest.raises(SealError):
        open_sealed(x25519.X25519PrivateKey.generate(), sealed, **CONTEXT)
    for position in (0, 31, 32, len(sealed) - 1):  # the encapsulated key, ciphertext, tag
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(SealError):
            open_sealed(key, bytes(tampered), **CONTEXT)
    for length in (0, 10, OVERHEAD - 1, len(sealed) - 1):
        with pytest.raises(SealError):
            open_sealed(key, sealed[:length], **CONTEXT)


def test_info_is_unambiguous() -> None:
    assert info_for(**CONTEXT) == (b"smpc-bench/v1/submission\0" + ROUND.encode() + b"\0" + b"1"
                                   + b"\0" + SUB.encode())
    with pytest.raises(ValueError):
        info_for(**{**CONTEXT, "round_id": "a\0b"})
    with pytest.raises(ValueError):
        info_for(**{**CONTEXT, "purpose": b"other"})
    with pytest.raises(ValueError):
        info_for(**{**CONTEXT, "server_index": -1})


def test_server_keys_are_private_pinnable_and_never_overwritten(tmp_path: Path) -> None:
    files = make_server_keys(tmp_path / "keys", 2, name="Statistics office", host="127.0.0.1")
    for private in (files.hpke_key, files.tls_key):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    private = load_private_key(files.hpke_key)
    public = load_public_key(files.hpke_pub)
    assert public_key_fingerprint(public) == public_key_fingerprint(private.public_key())
    sealed = seal_for(public, b"x", **CONTEXT)
    assert open_sealed(private, sealed, **CONTEXT) == b"x"
    certificate = load_certificate(files.tls_crt)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert "Statistics office" in certificate.subject.rfc4514_string()
    # The certificate is usable as the only trust anchor of a strict client context.
    context = ssl.create_default_context(cafile=str(files.tls_crt))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    assert context.get_ca_certs()
    before = files.hpke_key.read_bytes()
    with pytest.raises(FileExistsError, match="never overwritten"):
        make_server_keys(tmp_path / "keys", 2, name="Other", host="127.0.0.1")
    assert files.hpke_key.read_bytes() == before
    dns = make_server_keys(tmp_path / "dns", 0, name="Office", host="bench.example.org")
    san = load_certificate(dns.tls_crt).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["bench.example.org"]
    assert ServerKeyFiles(tmp_path / "keys", 2).all() == files.all()


def test_key_loading_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_public_key(tmp_path / "missing.pub")
    bad = tmp_path / "bad.pub"
    bad.write_text("hello", encoding="utf-8")
    with pytest.raises(KeyFileError, match="bad.pub"):
        load_public_key(bad)
    result = generate_result_key(tmp_path / "contrib" / "result.key")
    assert stat.S_IMODE((tmp_path / "contrib" / "result.key").stat().st_mode) == 0o600
    with pytest.raises(KeyFileError, match="not an X25519 public key|not a PEM public key"):
        load_public_key(tmp_path / "contrib" / "result.key")
    with pytest.raises(FileExistsError):
        generate_result_key(tmp_path / "contrib" / "result.key")
    pem = public_key_pem(result.public_key())
    assert public_key_fingerprint(public_key_from_pem(pem)) == public_key_fingerprint(
        result.public_key())


def test_tokens_and_enrolment_files(tmp_path: Path) -> None:
    token = new_token()
    assert is_well_formed(token) and len(token) == 43 and "=" not in token
    assert not is_well_formed(token + "x") and not is_well_formed("a b")
    assert token_hash(token) == __import__("hashlib").sha256(token.encode()).hexdigest()
    assert hashes_equal(token_hash(token), token_hash(token))
    secret, hashes = write_enrolment(tmp_path, 3, ["Alfa", "Beta", "Gamma"])
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    lines = secret.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "contributor,token" and lines[1].startswith("Alfa,")
    tokens = [line.split(",")[1] for line in lines[1:]]
    assert sorted(hashes.read_text(encoding="ascii").split()) == sorted(map(token_hash, tokens))
    assert not any(t in hashes.read_text(encoding="ascii") for t in tokens)
    with pytest.raises(FileExistsError):
        write_enrolment(tmp_path, 3)
    with pytest.raises(ValueError):
        write_enrolment(tmp_path / "x", 2, ["only one"])


def test_no_token_reads_as_a_command_line_option() -> None:
    # One raw draw in 64 starts with "-", which `submit --token -x...` would take for an option.
    tokens = [new_token() for _ in range(2000)]
    assert not any(token.startswith("-") for token in tokens)
    assert all(is_well_formed(token) for token in tokens)
