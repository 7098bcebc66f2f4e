"""Execute the book's chapters and build the book.

The book's chapters are MyST Markdown notebooks listed in ``_toc.yml``. This module is the one
place that knows how to find them, run one fresh (for ``make test`` and ``make bench``), and
build the whole book with a cache that cannot go stale (for ``make build``).

Command line (the Makefile calls these)::

    python -m kexue_lib.book build                # make build
    python -m kexue_lib.book run book/chapter.md  # execute one chapter fresh, print its time
    python -m kexue_lib.book extract-code DIR     # chapters' code cells as .py files, for ruff
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

BUILD_DIR = "_build"
CACHE_DIR = "_build/.jupyter_cache"
FINGERPRINT_FILE = "_build/.kexue_lib.sha256"
#: Files whose change must invalidate every cached chapter execution.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
FINGERPRINT_GLOBS = ("kexue_lib/**/*.py", "book/_ext/*.py", "requirements.txt", "pyproject.toml")


class ChapterError(RuntimeError):
    """A chapter failed: a cell raised, it wrote to stderr, or it is missing from the contents."""


def find_root(start: Path | None = None) -> Path:
    """The book's root: the nearest folder at or above ``start`` holding ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _toc.yml at or above {here}")


def toc_files(root: Path) -> list[Path]:
    """Every page named in ``_toc.yml``, in reading order, as ``.md`` paths."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(str(node[key]))
            for value in node.values():
                if isinstance(value, list | dict):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [root / (name if name.endswith(".md") else f"{name}.md") for name in found]


def is_notebook(path: Path) -> bool:
    """Whether a Markdown page is a MyST notebook (jupytext front matter and a kernel)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    front = yaml.safe_load(text.split("---", 2)[1]) or {}
    fmt = (front.get("jupytext") or {}).get("text_representation", {}).get("format_name")
    return fmt == "myst" and "kernelspec" in front


def chapters(root: Path) -> list[Path]:
    """The executable chapters: the notebooks among the pages of ``_toc.yml``."""
    return [p for p in toc_files(root) if p.is_file() and is_notebook(p)]


def pages_outside_toc(root: Path) -> list[Path]:
    """Markdown pages under ``book/`` that ``_toc.yml`` does not list (they would never run)."""
    listed = {p.resolve() for p in toc_files(root)}
    return sorted(
        p for p in (root / "book").rglob("*.md")
        if p.resolve() not in listed and not any(part.startswith((".", "_")) for part in p.parts)
    )


@dataclass(frozen=True)
class Execution:
    """A chapter run: its path, its wall time and the executed notebook."""

    path: Path
    seconds: float
    notebook: object


def execute(path: Path, *, timeout: int = 600) -> Execution:
    """Execute a chapter fresh (no cache) in a new kernel, with its own folder as working directory.

    Raises :class:`ChapterError` naming the chapter, the failing cell's number and source, and
    the traceback; a chapter that writes to stderr fails too (no stray output reaches the book).
    """
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path).resolve()
    nb = jupytext.read(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        index, cell = next(
            ((i, c) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            (None, None),
        )
        where = f"code cell {index}" if index is not None else "a code cell"
        source = cell.source if cell is not None else "(unknown)"
        raise ChapterError(
            f"{path.name}: {where} failed\n--- cell source ---\n{source}\n"
            f"--- traceback ---\n{_ANSI.sub('', str(err))}"
        ) from None
    seconds = time.perf_counter() - start
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                raise ChapterError(
                    f"{path.name}: code cell {i} wrote to stderr (it would show in the book):\n"
                    f"--- cell source ---\n{cell.source}\n--- stderr ---\n{out.get('text', '')}"
                )
    return Execution(path, seconds, nb)


def fingerprint(root: Path) -> str:
    """SHA-256 over the library, the Sphinx extensions and the pinned environment."""
    digest = hashlib.sha256()
    for pattern in FINGERPRINT_GLOBS:
        for file in sorted(root.glob(pattern)):
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def invalidate_stale_cache(root: Path) -> bool:
    """Delete the execution cache if ``kexue_lib`` (or the environment) changed since it was filled.

    jupyter-cache keys each chapter on its own code only, so without this a change to the
    library would keep serving old, possibly wrong, results. Returns whether it was cleared.
    """
    stamp, cache = root / FINGERPRINT_FILE, root / CACHE_DIR
    current = fingerprint(root)
    stale = not stamp.is_file() or stamp.read_text().strip() != current
    if stale and cache.exists():
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    return stale


def _report_failures(root: Path) -> list[str]:
    """Print, for each chapter that failed, its file, the failing cell and the traceback.

    jupyter-book saves one report per failed notebook under ``_build/html/reports``; the part
    after nbclient's "An error occurred while executing the following cell" is what a reader
    of the log needs. Returns the failed chapters' paths.
    """
    failed = []
    for log in sorted((root / BUILD_DIR / "html" / "reports").rglob("*.err.log")):
        chapter = str(log.relative_to(root / BUILD_DIR / "html" / "reports")).removesuffix(".err.log")
        failed.append(f"{chapter}.md")
        text = log.read_text(encoding="utf-8", errors="replace")
        marker = "An error occurred while executing the following cell:"
        print(f"\n=== chapter failed: {chapter}.md ===", file=sys.stderr)
        print(text[text.find(marker):] if marker in text else text, file=sys.stderr)
    return failed


def build(root: Path) -> int:
    """Build the HTML book into ``_build/html``; non-zero if any chapter or warning fails."""
    orphans = pages_outside_toc(root)
    if orphans:
        names = ", ".join(str(p.relative_to(root)) for p in orphans)
        print(f"error: pages missing from _toc.yml (they would never execute): {names}", file=sys.stderr)
        return 1
    if invalidate_stale_cache(root):
        print("kexue_lib or the environment changed: cleared the execution cache", flush=True)
    reports = root / BUILD_DIR / "html" / "reports"
    if reports.exists():
        shutil.rmtree(reports)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jupyter_book), "build", str(root), "--all", "-W", "--keep-going"]
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    code = subprocess.run(cmd, cwd=root, env=env, check=False).returncode
    if code != 0:
        failed = _report_failures(root)
        names = f": failed chapters {', '.join(failed)}" if failed else " (see the warnings above)"
        print(f"error: the book did not build{names}", file=sys.stderr)
    return code


def extract_code(root: Path, out: Path) -> list[Path]:
    """Write each chapter's code cells to ``out/<chapter>.py`` (magics commented out), for ruff."""
    import jupytext

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapters(root):
        target = out / f"{path.stem.replace('-', '_')}.py"
        jupytext.write(jupytext.read(path), target, fmt="py:percent")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kexue_lib.book", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the HTML book (the cache is cleared when kexue_lib changes)")
    run = sub.add_parser("run", help="execute chapters fresh and print their times")
    run.add_argument("paths", nargs="*", type=Path, help="chapter files (default: every chapter)")
    ext = sub.add_parser("extract-code", help="write the chapters' code cells as .py files")
    ext.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    root = find_root()
    if args.command == "build":
        return build(root)
    if args.command == "run":
        for path in args.paths or chapters(root):
            try:
                result = execute(path)
            except ChapterError as err:
                print(err, file=sys.stderr)
                return 1
            print(f"{result.seconds:8.1f} s  {path}")
        return 0
    for path in extract_code(root, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
