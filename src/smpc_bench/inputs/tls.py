"""Put a party's TLS files where MPyC looks for them.

MPyC's ``--ssl`` reads ``.config/party_{i}.crt``, ``.config/party_{i}.key`` and
``.config/mpyc_ca.crt`` relative to the *current working directory* when the run starts.  When
the consortium configuration (or the command line) names the files elsewhere,
:func:`mpyc_tls_layout` copies them into that layout inside a private temporary folder
(mode 0700, the key 0600), makes it the working directory for the run, and removes it
afterwards.  Without configured paths, MPyC's own layout in the working directory is used and
checked up front, so a missing file gives a clear message instead of a connection timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "mpyc_tls_layout"]


@dataclass(frozen=True)
class TlsFiles:
    """The three files one party needs for MPyC's mutual TLS.

    Attributes:
        cert: The party's certificate (subject CN must be ``MPyC party {index}``, and O the
            firm's name as under ``[[parties]]``, see :mod:`smpc_bench.inputs.certificates`).
        key: The party's private key (never leaves its machine).
        ca: The consortium's CA certificate that signed every party's certificate.
    """

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def in_mpyc_layout(cls, folder: Path, party: int) -> TlsFiles:
        """The files where MPyC expects them under ``folder``."""
        config = folder / ".config"
        return cls(config / f"party_{party}.crt", config / f"party_{party}.key",
                   config / "mpyc_ca.crt")

    def check(self) -> None:
        """Raise :class:`FileNotFoundError` naming every file that is missing."""
        missing = [f"{what} {path}" for what, path in
                   (("certificate", self.cert), ("private key", self.key),
                    ("CA certificate", self.ca)) if not path.is_file()]
        if missing:
            raise FileNotFoundError(
                "TLS is on (--ssl) but these files are missing: " + "; ".join(missing)
                + ". Create them with `smpc-bench certs` or set cert/key under [[parties]] and "
                "ca under [tls] in the configuration")


@contextlib.contextmanager
def mpyc_tls_layout(files: TlsFiles | None, party: int) -> Iterator[Path]:
    """Run the block with the working directory holding ``.config/`` for party ``party``.

    Args:
        files: The configured files, or None to use (and check) MPyC's layout in the current
            working directory.
        party: This party's index.

    Yields:
        The working directory in use.  All other paths must be absolute before entering.
    """
    if files is None:
        TlsFiles.in_mpyc_layout(Path.cwd(), party).check()
        yield Path.cwd()
        return
    files.check()
    previous = Path.cwd()
    folder = Path(tempfile.mkdtemp(prefix="smpc-bench-tls-"))
    try:
        target = TlsFiles.in_mpyc_layout(folder, party)
        target.cert.parent.mkdir(mode=0o700)
        for source, destination in ((files.cert, target.cert), (files.ca, target.ca),
                                    (files.key, target.key)):
            shutil.copyfile(source, destination)
        os.chmod(target.key, 0o600)
        os.chdir(folder)
        yield folder
    finally:
        os.chdir(previous)
        shutil.rmtree(folder, ignore_errors=True)
