"""Write a file so that readers see the old one or the complete new one, never a part.

A round's report and outcome files are what a firm acts on; a crash, a full disk or a lost peer
half-way through writing must not leave a truncated ``report.json`` behind, nor replace last
year's report with a broken one.  The text goes to a temporary file in the same folder (so the
rename stays on one file system), is flushed to disk, and replaces the target with
:func:`os.replace`, which is atomic on POSIX and Windows.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic", "write_texts_atomic"]


def write_text_atomic(path: str | Path, text: str, *, mode: int = 0o644) -> Path:
    """Replace ``path`` by a file holding ``text`` (UTF-8), atomically; returns the path.

    Args:
        path: The file to write; its folder must exist.
        text: The whole content.
        mode: Permission bits of the new file (before the umask).
    """
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                             dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, mode & ~umask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


def write_texts_atomic(texts: dict[Path, str]) -> list[Path]:
    """Write several files, each atomically, after all their texts are known.

    The texts are made by the caller first (rendering is what fails, not renaming), so a
    failure leaves every previous file as it was.
    """
    return [write_text_atomic(path, text) for path, text in texts.items()]
