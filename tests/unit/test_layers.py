"""The package's shape: what a firm's local commands load, and the import contracts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAKERY = ROOT / "examples" / "bakery"

#: Subpackages that hold MPC code: a firm's local check and the report builder load none.
MPC_PACKAGES = ("mpyc", "smpc_bench.engine", "smpc_bench.core", "smpc_bench.costs",
                "smpc_bench.positions", "smpc_bench.peer")


def _loaded_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + textwrap.dedent("""
        import sys
        print("\\n".join(sorted(sys.modules)))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def _mpc_modules(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if m.split(".")[0] == "mpyc"
                  or any(m == p or m.startswith(p + ".") for p in MPC_PACKAGES))


def test_check_command_loads_no_mpc_code():
    loaded = _loaded_after(f"""
        from smpc_bench.cli import main
        code = main.main(["check", "--config", {str(BAKERY / "consortium.toml")!r},
                          "--data", {str(BAKERY / "alfa.csv")!r}, "--quiet"])
        assert code == 0, code
    """)
    assert "smpc_bench.cli.check" in loaded
    assert _mpc_modules(loaded) == []


def test_check_command_on_an_outsourced_round_loads_no_mpc_code(tmp_path: Path) -> None:
    from tests.outsourced_round import SMALL_KPIS, make_round

    round_ = make_round(tmp_path, tokens=3, kpis=SMALL_KPIS)
    loaded = _loaded_after(f"""
        from smpc_bench.cli import main
        code = main.main(["check", "--config", {str(round_.config)!r}, "--quiet"])
        assert code == 0, code
    """)
    # The round id was computed: it reads the servers' public keys and the token hashes.
    assert {"smpc_bench.cli.check", "smpc_bench.inputs.outsourced_config"} <= loaded
    assert _mpc_modules(loaded) == []


def test_report_builder_loads_no_mpc_code():
    loaded = _loaded_after("""
        import smpc_bench.report.build, smpc_bench.report.html_page, smpc_bench.spec.outcome
    """)
    assert "smpc_bench.report.build" in loaded
    assert _mpc_modules(loaded) == []


def test_package_face_is_lazy():
    loaded = _loaded_after("""
        import smpc_bench
        assert smpc_bench.KpiSpec.__name__ == "KpiSpec"
    """)
    assert _mpc_modules(loaded) == []
    assert "smpc_bench.core.secure_table" not in loaded


def test_package_face_exports_what_it_lists():
    import smpc_bench

    for name in smpc_bench.__all__:
        assert getattr(smpc_bench, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        smpc_bench.nope  # noqa: B018


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint_imports).exists():
        pytest.fail("import-linter is not installed: `make test` installs it (test extra)")
    proc = subprocess.run([lint_imports], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:]


def _readme_layout() -> dict[str, set[str]]:
    """The README's layout block: each package folder and the module names listed under it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    listed: dict[str, set[str]] = {}
    folder = None
    for line in block.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.split()[0].endswith("/"):
            folder = line.split()[0].rstrip("/")
            listed[folder] = set()
        elif line.startswith("    ") and folder is not None and not line.startswith("     "):
            listed[folder].update(line.split())
        elif not line.startswith("  "):
            folder = None
    return listed


def test_readme_layout_lists_every_module_of_every_folder():
    package = ROOT / "src" / "smpc_bench"
    listed = _readme_layout()
    folders = sorted(str(p.parent.relative_to(package)) for p in package.rglob("__init__.py")
                     if p.parent != package)
    assert sorted(listed) == folders
    for folder in folders:
        modules = {p.stem for p in (package / folder).glob("*.py") if p.stem != "__init__"}
        assert listed[folder] == modules, folder
    top = {p.stem for p in package.glob("*.py")} - {"__init__", "__main__"}
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    assert all(f"  {name} " in head for name in top), top


def test_no_module_imports_itself_back():
    """No import cycle between modules (the layers contract sees only cross-folder ones).

    The package face is left out: it names the library API lazily and imports nothing at run
    time.
    """
    import grimp

    graph = grimp.build_graph("smpc_bench")
    modules = set(graph.modules) - {"smpc_bench", "smpc_bench.__main__"}
    imports = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    cycles = []
    for module in sorted(modules):
        for imported in sorted(imports[module]):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain is not None and all(m in modules for m in chain):
                cycles.append(" -> ".join((module, *chain)))
    assert cycles == []
