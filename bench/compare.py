"""Compare this checkout's bench figures with another commit's, in one session.

    python -m bench.compare REF [SECTION ...] [--rounds N]

Checks REF out into a temporary git worktree and runs `python -m bench SECTION ...`
in both trees with this interpreter (one venv, so installed packages and their
file-backed pages are the same), alternating which tree goes first in each
round. Each tree runs its own bench code, fake service and migrations, so the
comparison holds across layout and schema changes; a figure that a tree's bench
does not report is shown as "-".

With --same-fake, this checkout's fake service (instantly/fake.py, the stand-in
the bench measures against) replaces the other tree's in its worktree, so
both daemons are measured against the same answers: a fake that grew richer
answers (bigger listing pages) does not read as a slower daemon.

A row reads "worse" or "better" only when the two trees' ranges over the rounds
do not overlap; otherwise the difference is within the spread of one tree and
the row reads "level". Nothing is written to bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# A section the other tree's bench does not have is skipped there (its rows show "-").
DEFAULT_SECTIONS = ("footprint", "toggle_overhead", "webhook_ingest", "reconcile_10000",
                    "reconcile_100000", "console_render")

FAKE = "instantly/fake.py"
PACKAGES = ("daemon", "webhooks", "reconciler", "instantly", "sql", "bench")

Getter = Callable[[dict[str, Any]], float | None]


def _path(*keys: str | int) -> Getter:
    def get(results: dict[str, Any]) -> float | None:
        value: Any = results
        for key in keys:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None
        return float(value) if isinstance(value, int | float) else None
    return get


def _median_of_rounds(*keys: str | int, field: str) -> Getter:
    """The median over rounds of `field` in the list of round summaries at `keys`."""
    def get(results: dict[str, Any]) -> float | None:
        value: Any = results
        try:
            for key in keys:
                value = value[key]
            return float(statistics.median(r[field] for r in value))
        except (KeyError, IndexError, TypeError, statistics.StatisticsError):
            return None
    return get


# (measure, getter, True when higher is better)
FIGURES: list[tuple[str, Getter, bool]] = [
    ("idle RSS, MB", _path("footprint", "idle_rss_mb"), False),
    ("start-up to ready, s", _path("footprint", "startup_to_ready_s"), False),
    ("toggle rps ratio, daemon / naive", _path("toggle_overhead", "ratio_daemon_over_naive"),
     True),
    ("toggle added p50, ms", _path("toggle_overhead", "added_p50_ms"), False),
    ("toggle daemon CPU ms per 1,000 toggles",
     _path("toggle_overhead", "cpu_ms_per_1000_toggles", "daemon", "server"), False),
    ("toggle Postgres CPU ms per 1,000 toggles, under the daemon",
     _path("toggle_overhead", "cpu_ms_per_1000_toggles", "daemon", "postgres"), False),
    ("webhook events/s ratio c=64, daemon / naive",
     _path("webhook_ingest", "ratio_daemon_over_naive"), True),
    ("webhook events/s, daemon c=64", _path("webhook_ingest", "daemon_events_per_s"), True),
    ("webhook events/s ratio c=8, daemon / naive", _path("webhook_ingest", "ratio_at_8"), True),
    ("webhook ack p50 at c=8, daemon, ms",
     _median_of_rounds("webhook_ingest", "by_concurrency", "8", "daemon", field="p50_ms"),
     False),
    ("webhook ack p99 at c=8, daemon, ms",
     _median_of_rounds("webhook_ingest", "by_concurrency", "8", "daemon", field="p99_ms"),
     False),
    ("webhook daemon CPU ms per 1,000 events, c=64",
     _path("webhook_ingest", "by_concurrency", "64", "cpu_ms_per_1000_events", "daemon",
           "server"), False),
    ("webhook duplicates stored", _path("webhook_ingest", "duplicates_stored"), False),
    ("reconcile 10k wall, s", _path("reconcile_10000", "passes", 0, "wall_s"), False),
    ("reconcile 10k daemon CPU, s", _path("reconcile_10000", "passes", 0, "daemon_cpu_s"),
     False),
    ("reconcile 100k wall, s", _path("reconcile_100000", "passes", 0, "wall_s"), False),
    ("reconcile 100k daemon CPU, s", _path("reconcile_100000", "passes", 0, "daemon_cpu_s"),
     False),
    ("reconcile 100k peak RSS, MB", _path("reconcile_100000", "peak_rss_mb"), False),
    ("console campaigns page p50, ms", _path("console_render", "campaigns_p50_ms"), False),
    ("console drift page p50, ms", _path("console_render", "drift_p50_ms"), False),
]


def run_bench(tree: Path, sections: list[str]) -> dict[str, Any]:
    """One `python -m bench SECTION ...` in `tree`; its JSON report."""
    proc = subprocess.run([sys.executable, "-m", "bench", *sections], cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"bench failed in {tree}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def verdict(ref: list[float], head: list[float], higher_is_better: bool) -> str:
    """'better'/'worse' only when the ranges over the rounds do not overlap."""
    if not ref or not head:
        return ""
    if len(ref) < 2 or len(head) < 2:
        return "(one round: no spread to judge by)"
    if min(head) > max(ref):
        return "better" if higher_is_better else "worse"
    if max(head) < min(ref):
        return "worse" if higher_is_better else "better"
    return "level"


def table(ref_name: str, ref_runs: list[dict[str, Any]], head_runs: list[dict[str, Any]]
          ) -> str:
    out = [f"| measure | {ref_name} (each round) | this checkout (each round) |"
           " median ratio | verdict |", "|---|---|---|---|---|"]
    for name, get, higher in FIGURES:
        ref = [v for v in map(get, ref_runs) if v is not None]
        head = [v for v in map(get, head_runs) if v is not None]
        if not ref and not head:
            continue
        ratio = (f"{statistics.median(head) / statistics.median(ref):.3f}"
                 if ref and head and statistics.median(ref) else "-")
        out.append(f"| {name} | {_values(ref)} | {_values(head)} | {ratio} |"
                   f" {verdict(ref, head, higher)} |")
    return "\n".join(out)


def _values(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values) or "-"


def _short(ref: str) -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "--verify", f"{ref}^{{commit}}"],
                           cwd=ROOT, capture_output=True, text=True)
    if found.returncode != 0:
        raise SystemExit(f"bench.compare: {ref!r} is not a commit of this repository")
    return found.stdout.strip()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ref", help="the commit to compare with (any git revision)")
    parser.add_argument("sections", nargs="*", default=list(DEFAULT_SECTIONS),
                        help=f"bench sections (default: {' '.join(DEFAULT_SECTIONS)})")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--same-fake", action="store_true",
                        help="run both benches against this checkout's fake service")
    args = parser.parse_args(argv)
    commit, head = _short(args.ref), _short("HEAD")
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        other = Path(tmp) / commit
        added = subprocess.run(["git", "worktree", "add", "--detach", str(other), commit],
                               cwd=ROOT, capture_output=True, text=True)
        if added.returncode != 0:
            raise SystemExit(f"bench.compare: git worktree add failed: {added.stderr.strip()}")
        try:
            if args.same_fake:
                shutil.copyfile(ROOT / FAKE, other / FAKE)
                print(f"compare: {commit} runs with this checkout's {FAKE}", flush=True)
            # Byte-compile both trees first: a cold import would count against one.
            for tree in (other, ROOT):
                packages = [str(tree / p) for p in PACKAGES if (tree / p).is_dir()]
                subprocess.run([sys.executable, "-m", "compileall", "-q", *packages],
                               check=False, capture_output=True)
            ref_runs: list[dict[str, Any]] = []
            head_runs: list[dict[str, Any]] = []
            for i in range(args.rounds):
                order = [(other, ref_runs), (ROOT, head_runs)]
                for tree, runs in order if i % 2 == 0 else order[::-1]:
                    label = commit if tree == other else f"this checkout ({head})"
                    print(f"compare: round {i + 1}/{args.rounds}, {label} ...", flush=True)
                    runs.append(run_bench(tree, args.sections))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT,
                           capture_output=True)
    print()
    print(table(commit, ref_runs, head_runs))
    print("\nmachine calibration at the start of each run (ms of a fixed loop, lower is"
          " faster; '-' where that tree's bench does not measure it):")
    for name, runs in ((commit, ref_runs), (f"this checkout ({head})", head_runs)):
        calib = [r.get("machine", {}).get("calibration_ms_at_start") for r in runs]
        print(f"  {name}: {', '.join('-' if c is None else str(c) for c in calib)}")


if __name__ == "__main__":
    main(sys.argv[1:])
