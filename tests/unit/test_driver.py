"""Unit tests of smpc_bench.engine.driver that need no MPyC run (the runtime is never started)."""

import asyncio
import importlib.util
import pkgutil
import subprocess
import sys
import textwrap

import pytest

from smpc_bench.engine import driver
from smpc_bench.engine.driver import PartyError, PartyTimeoutError, RunLog, check_party_count, phase


@pytest.mark.parametrize("m", [1, 3, 4, 5, 12])
def test_check_party_count_accepts(m):
    check_party_count(m, allow_local_simulation=True)


def test_check_party_count_refuses_two_parties():
    with pytest.raises(
        ValueError, match=r"threshold would be t = 0.*no secrecy.*3 or more parties"
    ):
        check_party_count(2, allow_local_simulation=True)


def test_check_party_count_single_party_only_as_simulation():
    check_party_count(3, allow_local_simulation=False)
    with pytest.raises(ValueError, match="local simulation"):
        check_party_count(1, allow_local_simulation=False)


@pytest.mark.parametrize("m", [0, -1])
def test_check_party_count_refuses_no_parties(m):
    with pytest.raises(ValueError, match="at least 1 party"):
        check_party_count(m, allow_local_simulation=True)


def test_timeout_error_message_names_party_phase_and_timeout():
    err = PartyTimeoutError("sharing inputs", 30, party=1)
    assert isinstance(err, PartyError)
    assert isinstance(err, RuntimeError)
    assert str(err) == (
        "party 1: no answer from the other parties within 30 s while 'sharing inputs'; "
        "a party may have crashed or be unreachable"
    )
    assert (err.phase, err.timeout, err.party) == ("sharing inputs", 30, 1)
    assert str(PartyTimeoutError("connecting", 2.5)).startswith("this party: ")


def test_phase_returns_result_and_records_duration():
    seen = []
    log = RunLog(on_phase=lambda name, seconds: seen.append(name))

    async def main():
        first = await phase("coroutine", asyncio.sleep(0.01, result=4), 5, log=log)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result("done")
        second = await phase("done future", fut, 5, log=log)
        return first, second

    assert asyncio.run(main()) == (4, "done")
    assert [name for name, _ in log.timings] == ["coroutine", "done future"] == seen
    assert log.timings[0][1] >= 0.005
    assert log.total() == pytest.approx(sum(s for _, s in log.timings))
    log.clear()
    assert log.timings == []


def test_phase_timeout_raises_party_timeout_error():
    log = RunLog()

    async def main():
        await phase("waiting for peers", asyncio.sleep(10), 0.05, log=log)

    with pytest.raises(PartyTimeoutError, match=r"within 0.05 s while 'waiting for peers'") as info:
        asyncio.run(main())
    assert info.value.phase == "waiting for peers"
    assert log.timings == []


def test_phase_timeout_does_not_cancel_a_shared_future():
    async def main():
        fut = asyncio.get_running_loop().create_future()
        with pytest.raises(PartyTimeoutError):
            await phase("output", fut, 0.02, log=RunLog())
        return fut.cancelled()

    assert asyncio.run(main()) is False


def test_default_run_log_is_used_without_log_argument():
    before = len(driver.run_log.timings)
    asyncio.run(phase("default log", asyncio.sleep(0), 1))
    assert driver.run_log.timings[before][0] == "default log"
    del driver.run_log.timings[before:]


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_the_package_does_not_import_mpyc_runtime():
    proc = _run_python(
        """
        import sys
        import smpc_bench
        assert "mpyc.runtime" not in sys.modules, "import smpc_bench loaded mpyc.runtime"
        print(smpc_bench.__version__)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0.1.0"


def _package_modules():
    spec = importlib.util.find_spec("smpc_bench")
    assert spec is not None and spec.submodule_search_locations
    infos = pkgutil.walk_packages(spec.submodule_search_locations, prefix="smpc_bench.")
    return sorted(info.name for info in infos if not info.name.endswith("__main__"))


def test_no_module_of_the_package_imports_mpyc_runtime():
    modules = _package_modules()
    assert "smpc_bench.engine.driver" in modules
    proc = _run_python(
        f"""
        import importlib, sys
        for name in {modules!r}:
            importlib.import_module(name)
            assert "mpyc.runtime" not in sys.modules, f"import {{name}} loaded mpyc.runtime"
        """
    )
    assert proc.returncode == 0, proc.stderr
