"""Suite-wide settings: the Hypothesis profiles, so that a CI failure can be replayed.

``ci`` (selected when ``CI`` is set, as ``.ci/run`` does): derandomized, so every run tries the
same examples (seeded from each test's source) and a failure is reproduced by running the same
test with ``CI=1``; no example database (nothing to carry between CI machines); and the failing
example's ``@reproduce_failure(...)`` blob is printed.  ``dev`` (otherwise): Hypothesis's
random search and local example database, also printing the blob.  ``HYPOTHESIS_PROFILE``
(or ``--hypothesis-profile``) picks one explicitly; pytest's header names the one in use.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "dev"))


def pytest_report_header() -> str:
    """Name the Hypothesis profile in the session header (a CI log shows how to replay)."""
    current = settings()
    return (f"hypothesis profile {settings.get_current_profile_name()!r}: "
            f"derandomize={current.derandomize}, print_blob={current.print_blob}, "
            f"database={'none' if current.database is None else 'local'}")
