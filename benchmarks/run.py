"""`make bench`: the book's benchmarks, printed as a table and written to _build/bench/bench.json.

Frame rows: the fresh execution time of each chapter; CI's steps (``make test``, ``make lint``,
``make build`` right after ``make test``) from a clean build folder and their sum, CI's wall time
less environment creation; a no-change cached rebuild; ``make build`` alone from an empty cache.
Chapter rows: every ``benchmarks/bench_*.py`` module defines
``benchmarks() -> list[kexue_lib.book.benchmark.Row]``; this script imports and runs each.
Run a subset with ``python benchmarks/run.py gaussian_max softmax`` (module suffixes) or
``--no-book`` to skip the book timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jax

from kexue_lib.book import build as book
from kexue_lib.book.benchmark import Row, row

ROOT = book.find_root(Path(__file__).parent)


def _timed_make(target: str) -> float:
    """Wall time of ``make <target>`` in the book's root, as CI runs it; raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"make {target} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return time.perf_counter() - start


def _clean_build() -> None:
    """What a fresh clone has: no HTML, no execution cache, no executed notebooks."""
    for folder in ("html", "jupyter_execute", ".jupyter_cache"):
        shutil.rmtree(ROOT / book.BUILD_DIR / folder, ignore_errors=True)


def book_rows() -> list[Row]:
    """Each chapter fresh; CI's three steps from a clean build folder; the cached and uncached builds.

    ``.ci/run`` on a fresh clone is environment creation, then ``make test``, ``make lint`` and
    ``make build``; after a clean of ``_build`` this tree is that clone with its environment
    made, so the sum of the three is CI's wall time less the environment's creation. Because
    ``make test`` stores each chapter's execution in the build's cache, the ``make build`` after
    it only renders; the last row is ``make build`` alone, from an empty cache, for comparison.
    """
    rows = [row(f"chapter {r.path.stem}: fresh execution", r.seconds, "s")
            for r in map(book.execute, book.chapters(ROOT))]
    _clean_build()
    steps = {target: _timed_make(target) for target in ("test", "lint", "build")}
    rows += [
        row("CI: make test (unit tests + every chapter fresh)", steps["test"], "s"),
        row("CI: make lint", steps["lint"], "s"),
        row("CI: make build right after make test", steps["build"], "s", "chapters from the cache"),
        row("CI wall time less environment creation", sum(steps.values()), "s", "sum of the three"),
        row("make build, no change: cached rebuild", _timed_make("build"), "s"),
    ]
    _clean_build()
    rows.append(row("make build alone, empty cache", _timed_make("build"), "s", "executes every chapter"))
    return rows


def module_rows(names: list[str]) -> list[Row]:
    rows: list[Row] = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if names and path.stem.removeprefix("bench_") not in names:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"running {path.name} ...", flush=True)
        rows.extend(module.benchmarks())
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="bench_<name>.py suffixes to run (default: all)")
    parser.add_argument("--no-book", action="store_true", help="skip the chapter and book timings")
    args = parser.parse_args()
    rows = module_rows(args.modules)
    if not args.no_book and not args.modules:
        print("timing the chapters and the book ...", flush=True)
        rows = book_rows() + rows
    width = max(len(r["benchmark"]) for r in rows) if rows else 10
    print(f"\n{'benchmark':<{width}}  {'value':>12}  unit  note")
    for r in rows:
        print(f"{r['benchmark']:<{width}}  {r['value']:>12.4g}  {r['unit']:<4}  {r['note']}")
    out = ROOT / book.BUILD_DIR / "bench" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()], "machine": platform.machine()}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
