"""Find, check, execute and build the book's chapters.

The book's chapters are MyST Markdown notebooks listed in ``_toc.yml``. This module is the one
place that knows how to find them, check that they keep the book's conventions (the five beats,
visible imports, captioned figures, a closing ledger), run one fresh (for ``make test`` and
``make bench``), build the whole book with a cache that cannot go stale (for ``make build``),
and preview one chapter alone.

Command line (the Makefile calls these)::

    python -m kexue_lib.book build                    # make build
    python -m kexue_lib.book run book/chapter.md      # execute one chapter fresh, print its time
    python -m kexue_lib.book check [book/chapter.md]  # the structure checks, no execution
    python -m kexue_lib.book preview book/chapter.md  # render one chapter alone, into _build/preview
    python -m kexue_lib.book screenshot PAGE.html OUT.png --at sec-x-summary [--dark]
    python -m kexue_lib.book format [book/chapter.md] # rewrite chapters as Jupyter saves them
    python -m kexue_lib.book extract-code DIR         # chapters' code cells as .py files, for ruff
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

BUILD_DIR = "_build"
CACHE_DIR = "_build/.jupyter_cache"
FINGERPRINT_FILE = "_build/.kexue_lib.sha256"
PREVIEW_DIR = "_build/preview"
#: Files whose change must invalidate every cached chapter execution.
FINGERPRINT_GLOBS = ("kexue_lib/**/*.py", "book/_ext/*.py", "requirements.txt", "pyproject.toml")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: The five beats of a chapter, in order; each is a section labelled ``(sec-<slug>-<beat>)=``.
BEATS: tuple[str, ...] = ("claim", "derivation", "check", "beyond", "summary")
#: The longest code line that fits the page's code column without sideways scrolling.
CODE_WIDTH = 88
#: Cell tags that hide a cell's source from the reader.
HIDING_TAGS = frozenset({"remove-cell", "remove-input", "hide-input", "hide-cell"})
#: The output-metadata key under which a displayed ledger publishes its rows (beside its table).
LEDGER_KEY = "kexue_ledger"
_FIGURE_MIMES = ("image/svg+xml", "image/png", "image/jpeg")


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


_LABEL = re.compile(r"^\((sec-[A-Za-z0-9-]+)\)=\s*$", re.MULTILINE)


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _defines_function(source: str) -> bool:
    """Whether Python ``source`` defines a function (``def`` or ``lambda``); magics are skipped."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    functions = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    return any(isinstance(node, functions) for node in ast.walk(tree))


def check_structure(path: Path) -> list[str]:
    """The ways a chapter breaks the book's conventions, without executing it (empty: none).

    A chapter (a notebook among the pages of ``_toc.yml``) must

    - cite its source post (a link to ``kexue.fm/archives/…``) before its first section;
    - have the five beats (:data:`BEATS`) as sections labelled ``(sec-<slug>-<beat>)=``, each once,
      in order, with one ``<slug>`` for all five;
    - open with a visible import cell (the reader sees what ``gm`` or ``ss`` is);
    - define no function in a hidden cell (tags in :data:`HIDING_TAGS`);
    - keep every code line within :data:`CODE_WIDTH` characters (no sideways scrolling);
    - end with its ledger: the last code cell lies in the summary and hides its input
      (``remove-input``), showing only the table;
    - be in the form Jupyter saves (:func:`round_trip`), so that opening and saving it in Jupyter
      changes nothing.
    """
    import jupytext

    path = Path(path)
    name = path.name
    problems: list[str] = []
    text = path.read_text(encoding="utf-8")
    if round_trip(text) != text:
        problems.append(f"{name}: not in the form Jupyter saves it (jupytext would rewrite it); "
                        f"run: python -m kexue_lib.book format {path}")
    labels = _LABEL.findall(text)
    found: dict[str, list[str]] = {}
    for label in labels:
        for beat in BEATS:
            if label.endswith(f"-{beat}"):
                found.setdefault(beat, []).append(label)
    for beat in BEATS:
        if len(found.get(beat, [])) != 1:
            count = len(found.get(beat, []))
            problems.append(f"{name}: the beat '{beat}' needs exactly one section labelled "
                            f"(sec-<slug>-{beat})=, found {count}")
    if not problems:
        beat_labels = [found[beat][0] for beat in BEATS]
        slugs = {label.removesuffix(f"-{beat}") for label, beat in zip(beat_labels, BEATS, strict=True)}
        if len(slugs) != 1:
            problems.append(f"{name}: the five beats must share one slug, got {sorted(slugs)}")
        order = [labels.index(label) for label in beat_labels]
        if order != sorted(order):
            problems.append(f"{name}: the beats must come in the order {', '.join(BEATS)}; "
                            f"found {', '.join(b for _, b in sorted(zip(order, BEATS, strict=True)))}")
    first_section = min((text.find(f"({label})=") for label in labels), default=len(text))
    if "kexue.fm/archives/" not in text[:first_section]:
        problems.append(f"{name}: the chapter must link its source post (kexue.fm/archives/…) before "
                        "its first section")

    cells = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    if not cells:
        return [*problems, f"{name}: the chapter has no code cell"]
    first = cells[0]
    if _tags(first) & HIDING_TAGS or not re.search(r"^(import|from) ", first.source, re.MULTILINE):
        problems.append(f"{name}: the first code cell must be the visible import cell")
    for i, cell in enumerate(cells):
        hidden = _tags(cell) & HIDING_TAGS
        if hidden and _defines_function(cell.source):
            problems.append(f"{name}: code cell {i} is hidden ({', '.join(sorted(hidden))}) but defines "
                            "a function; put it in kexue_lib or show it")
        for j, line in enumerate(cell.source.splitlines(), 1):
            if len(line) > CODE_WIDTH:
                problems.append(f"{name}: code cell {i}, line {j} has {len(line)} characters "
                                f"(at most {CODE_WIDTH} fit the page): {line[:40]}…")
    last = cells[-1]
    summary = found.get("summary", [None])[0]
    if summary is not None and text.find(last.source.strip()) < text.find(f"({summary})="):
        problems.append(f"{name}: the last code cell (the ledger) must lie in the summary section")
    if "remove-input" not in _tags(last):
        problems.append(f"{name}: the last code cell (the ledger) must hide its input (tags: [remove-input])")
    return problems


def check_outputs(path: Path, notebook: object) -> list[str]:
    """The ways an executed chapter breaks the conventions (empty: none).

    Every figure is captioned and named for cross-references (cell metadata
    ``mystnb: figure: {caption, name}``, one figure per cell) and the last code cell displays
    the chapter's :class:`~kexue_lib.book.ledger.Ledger`.
    """
    name = Path(path).name
    problems: list[str] = []
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    for i, cell in enumerate(cells):
        figures = sum(any(m in out.get("data", {}) for m in _FIGURE_MIMES) for out in cell.get("outputs", []))
        if not figures:
            continue
        spec = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if figures > 1:
            problems.append(f"{name}: code cell {i} shows {figures} figures; show one per cell")
        if not (str(spec.get("caption", "")).strip() and str(spec.get("name", "")).startswith("fig-")):
            problems.append(f"{name}: code cell {i} shows a figure without a caption and a name "
                            "(metadata mystnb: figure: {caption: ..., name: fig-...})")
    if not cells or not any(LEDGER_KEY in out.get("metadata", {}) for out in cells[-1].get("outputs", [])):
        problems.append(f"{name}: the last code cell must display the chapter's Ledger")
    return problems


@dataclass(frozen=True)
class Execution:
    """A chapter run: its path, its wall time and the executed notebook."""

    path: Path
    seconds: float
    notebook: object


def read_notebook(path: Path) -> object:
    """A chapter as the build reads it: myst-nb's own MyST-notebook reader, not jupytext's.

    The cells, their metadata and the kernelspec are exactly those ``make build`` hashes to look
    the chapter up in its execution cache, so an execution of this notebook can be cached for it.
    """
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    return read_myst_markdown_notebook(Path(path).read_text(encoding="utf-8"), MdParserConfig(),
                                       add_source_map=True)


def execute(path: Path, *, timeout: int = 600) -> Execution:
    """Execute a chapter fresh (no cache) in a new kernel, with its own folder as working directory.

    The notebook is read and run as the build runs it (:func:`read_notebook`; nbclient, no
    timing metadata), so :func:`cache_execution` can hand the result to ``make build``. Raises
    :class:`ChapterError` naming the chapter, the failing cell's number and source, and the
    traceback; a chapter that writes to stderr fails too (no stray output reaches the book).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path).resolve()
    nb = read_notebook(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        record_timing=False, resources={"metadata": {"path": str(path.parent)}},
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


def cache_execution(root: Path, run: Execution) -> None:
    """Store a fresh execution in the build's execution cache, where ``make build`` will find it.

    The cache is jupyter-cache's, keyed on the notebook's code cells and kernelspec (so the
    notebook must come from :func:`read_notebook`); ``make build`` then renders the chapter
    without executing it again. Call :func:`invalidate_stale_cache` first (once per session), so
    that the cache and the library fingerprint agree.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(root / CACHE_DIR))
    cache.cache_notebook_bundle(
        CacheBundleIn(run.notebook, str(run.path), data={"execution_seconds": run.seconds}),
        check_validity=False, overwrite=True,
    )


def cached_notebook(cache: Path, chapter: Path) -> object | None:
    """The execution of ``chapter``'s current code stored in the execution cache at ``cache``.

    The executed notebook, outputs included (merged into the chapter as :func:`read_notebook`
    reads it), or ``None`` if the cache holds no execution of this code. This is the copy to
    read: myst-nb's own ``_build/jupyter_execute`` copy has no outputs when the build took the
    chapter from the cache.
    """
    from jupyter_cache import get_cache

    try:
        _, merged = get_cache(str(cache)).merge_match_into_notebook(read_notebook(chapter))
    except KeyError:
        return None
    return merged


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
    if stale:
        # ignore_errors: two test processes (make test's workers) may both find it stale
        shutil.rmtree(cache, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    partial = stamp.with_name(f"{stamp.name}.{os.getpid()}")
    partial.write_text(current + "\n")
    partial.replace(stamp)  # atomic: another process never reads a half-written stamp
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


def preview(root: Path, chapter: Path) -> Path:
    """Render one chapter alone, executed fresh, into ``_build/preview/<stem>/_build/html``.

    For looking at a chapter while writing it, without building (or waiting for) the others:
    a table of contents with only the book's root page, this chapter (numbered, so that section
    and figure numbers resolve) and the bibliography (where citations resolve), the book's
    configuration otherwise. Links to other chapters stay unresolved there (warnings, not
    errors). Returns the HTML page's path.
    """
    chapter = Path(chapter).resolve()
    rel = chapter.relative_to(root).with_suffix("")
    work = root / PREVIEW_DIR / chapter.stem
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # The chapter in a numbered part (so that section and figure numbers resolve), after the
    # book's root page, with the bibliography (where the citations resolve).
    book_toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts = [{"caption": "Preview", "numbered": True, "chapters": [{"file": str(rel)}]}]
    if (root / "book" / "bibliography.md").is_file():
        parts.append({"caption": "About the book", "chapters": [{"file": "book/bibliography"}]})
    toc = {"format": "jb-book", "root": book_toc["root"], "parts": parts}
    (work / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["only_build_toc_files"] = True
    config["execute"] = {**config.get("execute", {}), "execute_notebooks": "force",
                         "cache": str(work / ".jupyter_cache")}
    # The configuration now lives in another folder: its paths must not be relative to it.
    config["bibtex_bibfiles"] = [str(root / f) for f in config.get("bibtex_bibfiles", [])]
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {k: str(root / v) for k, v in sphinx.get("local_extensions", {}).items()}
    extra = sphinx.setdefault("config", {})
    extra["html_static_path"] = [str(root / d) for d in extra.get("html_static_path", [])]
    (work / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jupyter_book), "build", str(root), "--toc", str(work / "_toc.yml"),
           "--config", str(work / "_config.yml"), "--path-output", str(work)]
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    subprocess.run(cmd, cwd=root, env=env, check=True)
    return work / "_build" / "html" / rel.with_suffix(".html")


_SHOT_PAGE = """<!doctype html><html><body style="margin:0">
<iframe id="f" src="{src}" style="border:0;width:{width}px;height:{height}px"></iframe>
<script>
const f = document.getElementById("f");
f.onload = () => {{
  const d = f.contentDocument;
  if ({dark}) {{ d.documentElement.dataset.theme = "dark"; d.documentElement.dataset.mode = "dark"; }}
  setTimeout(() => {{
    const el = {target} ? d.getElementById({target}) : null;
    if (el) {{ el.scrollIntoView({{block: "start"}}); }} else {{ f.contentWindow.scrollTo(0, {offset}); }}
  }}, 2000);
}};
</script></body></html>"""


def screenshot(
    page: Path, out: Path, *, at: str | None = None, offset: int = 0, dark: bool = False,
    width: int = 1400, height: int = 1800,
) -> Path:
    """A headless-Chromium screenshot of a built page, as a reader sees it, scrolled to ``at``.

    ``page`` is an HTML file of a build (``_build/html/book/x.html`` or a preview's); it is served
    from 127.0.0.1 with its build folder, inside a frame that is scrolled to the element whose id
    is ``at`` (a section label such as ``sec-gmax-summary``) or to ``offset`` pixels, in the light
    or the ``dark`` theme, after MathJax and the theme's scripts have run. Needs Debian's
    ``chromium`` on the PATH.
    """
    import functools
    import http.server
    import json
    import threading

    page = Path(page).resolve()
    site = next((p for p in page.parents if (p / "_static").is_dir()), None)
    if site is None:
        raise FileNotFoundError(f"{page} is not inside a built book (no _static folder above it)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    wrapper = _SHOT_PAGE.format(src="/" + page.relative_to(site).as_posix(), width=width, height=height,
                                dark=json.dumps(dark), target=json.dumps(at), offset=int(offset)).encode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/__shot.html"):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(wrapper)
            else:
                super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = Path(out).resolve()
    try:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 "--virtual-time-budget=20000", f"--screenshot={out}",
                 f"http://127.0.0.1:{server.server_address[1]}/__shot.html"],
                check=True, capture_output=True, timeout=180,
            )
    finally:
        server.shutdown()
    return out


def round_trip(text: str) -> str:
    """A MyST chapter as Jupyter saves it: read by jupytext, written as ``.ipynb``, read back, written.

    A chapter in this canonical form opens in Jupyter (through jupytext) and saves back without a
    change; ``python -m kexue_lib.book format`` puts a chapter in it.
    """
    import jupytext

    notebook = jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="ipynb")
    return jupytext.writes(jupytext.reads(notebook, fmt="ipynb"), fmt="md:myst")


def extract_code(root: Path, out: Path) -> list[Path]:
    """Write each chapter's code cells to ``out/<chapter>.py`` (magics commented out), for ruff.

    Only the code: the cells' metadata (tags, figure captions) would land on the ``# %%`` lines,
    where ruff would judge a caption's length as code.
    """
    import jupytext

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapters(root):
        target = out / f"{path.stem.replace('-', '_')}.py"
        nb = jupytext.read(path)
        nb.cells = [cell for cell in nb.cells if cell.cell_type == "code"]
        for cell in nb.cells:
            cell.metadata = {}
        jupytext.write(nb, target, fmt="py:percent")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kexue_lib.book", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the HTML book (the cache is cleared when kexue_lib changes)")
    run = sub.add_parser("run", help="execute chapters fresh, check them, and print their times")
    run.add_argument("paths", nargs="*", type=Path, help="chapter files (default: every chapter)")
    check = sub.add_parser("check", help="check the chapters' structure (no execution)")
    check.add_argument("paths", nargs="*", type=Path, help="chapter files (default: every chapter)")
    prev = sub.add_parser("preview", help="render one chapter alone into _build/preview")
    prev.add_argument("path", type=Path, help="the chapter file")
    shot = sub.add_parser("screenshot", help="a headless-Chromium screenshot of a built page")
    shot.add_argument("page", type=Path, help="an HTML page of a build")
    shot.add_argument("out", type=Path, help="the PNG to write")
    shot.add_argument("--at", help="the id to scroll to (a section label, a figure name)")
    shot.add_argument("--offset", type=int, default=0, help="pixels to scroll when --at is not given")
    shot.add_argument("--dark", action="store_true", help="the dark theme")
    shot.add_argument("--height", type=int, default=1800, help="the window height in pixels")
    fmt = sub.add_parser("format", help="rewrite chapters in the form Jupyter saves (jupytext's)")
    fmt.add_argument("paths", nargs="*", type=Path, help="chapter files (default: every chapter)")
    ext = sub.add_parser("extract-code", help="write the chapters' code cells as .py files")
    ext.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    root = find_root()
    if args.command == "build":
        return build(root)
    if args.command == "preview":
        print(preview(root, args.path))
        return 0
    if args.command == "format":
        for path in args.paths or chapters(root):
            text = path.read_text(encoding="utf-8")
            if round_trip(text) != text:
                path.write_text(round_trip(text), encoding="utf-8")
                print(f"reformatted {path}")
        return 0
    if args.command == "screenshot":
        print(screenshot(args.page, args.out, at=args.at, offset=args.offset, dark=args.dark,
                         height=args.height))
        return 0
    if args.command in ("run", "check"):
        failed = False
        for path in args.paths or chapters(root):
            problems = check_structure(path)
            if args.command == "run" and not problems:
                try:
                    result = execute(path)
                except ChapterError as err:
                    print(err, file=sys.stderr)
                    return 1
                problems = check_outputs(path, result.notebook)
                print(f"{result.seconds:8.1f} s  {path}")
            for problem in problems:
                print(problem, file=sys.stderr)
            failed |= bool(problems)
        return int(failed)
    for path in extract_code(root, args.out):
        print(path)
    return 0
