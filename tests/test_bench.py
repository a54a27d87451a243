"""`make bench` plumbing on a tiny workload (speed itself is measured, never asserted)."""

import subprocess
import sys

import pytest

from actuarial.bench import run_rent

KEYS = {"contracts", "scenarios", "months", "seconds", "contract_scenarios_per_s", "speedup_vs_numpy_baseline",
        "peak_memory_mb", "threads"}


def test_bench_entry_has_every_field():
    entry = run_rent(300, 3, 12, 100, 2, threads=1)
    assert KEYS <= set(entry)
    runs = entry["seconds_runs"]
    assert len(runs) == 3 and entry["seconds"] == sorted(runs)[1]  # the median of three timed runs
    assert (entry["contracts"], entry["scenarios"], entry["months"], entry["threads"]) == (300, 3, 12, 1)
    assert entry["seconds"] > 0 and entry["peak_memory_mb"] > 0
    assert 0 < entry["delinquent_share"] < 1  # 12 months at the calibrated hazards: some, not all


def test_bench_command_refuses_a_bad_scale(tmp_path):
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "bench", "--scale", "0",
                          "--out", str(tmp_path / "b.json")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "--scale must be > 0" in run.stderr
    assert not (tmp_path / "b.json").exists()


def test_bench_command_refuses_a_bad_repeat(tmp_path):
    run = subprocess.run([sys.executable, "-m", "actuarial.cli", "bench", "--repeat", "0",
                          "--out", str(tmp_path / "b.json")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "--repeat must be >= 1, got 0" in run.stderr
    assert not (tmp_path / "b.json").exists()


def test_mortgage_bench_entry_has_every_field():
    from actuarial.bench import run_mortgage

    entry = run_mortgage(200, 2, 60, 50, 1, threads=1, repeat=2)
    assert KEYS <= set(entry) and entry["months"] == 60
    runs = entry["seconds_runs"]
    assert len(runs) == 2 and entry["seconds"] == pytest.approx((runs[0] + runs[1]) / 2, abs=1e-3)  # their median


def test_experience_bench_entry_has_every_field():
    from actuarial.bench import run_experience

    entry = run_experience(300, 0, 12, 0, 0, threads=1, repeat=1)
    assert entry["contracts"] == 300 and entry["months"] == 12 and len(entry["seconds_runs"]) == 1
    assert entry["history_rows"] > entry["steps"] > 0 and entry["seconds"] > 0
