"""``smpc_bench.stats``: reachable every usual way, loads no MPyC on import, shadows nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "smpc_bench"


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_importing_stats_loads_no_mpyc():
    out = _run("""
        import sys
        import smpc_bench.stats
        print(sorted(m for m in sys.modules if m.split(".")[0] == "mpyc"))
    """)
    assert out.strip() == "[]"


def test_every_way_to_reach_the_module():
    out = _run("""
        import sys
        import smpc_bench
        assert "stats" in dir(smpc_bench) and "stats" in smpc_bench.__all__
        first = smpc_bench.stats                 # the lazy attribute
        from smpc_bench import stats             # the drop-in's import
        import smpc_bench.stats as third
        assert first is stats is third is sys.modules["smpc_bench.stats"]
        assert callable(stats.median) and callable(stats.quantiles)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_the_name_shadows_no_standard_module_and_no_path_points_into_the_package():
    assert "stats" not in sys.stdlib_module_names
    out = _run("""
        import sys
        import smpc_bench.stats
        print("\\n".join(sys.path))
    """)
    for entry in filter(None, out.splitlines()):
        assert Path(entry).resolve() != PACKAGE.resolve(), entry
    assert not (PACKAGE / "statistics.py").exists()
