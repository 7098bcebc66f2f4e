"""make lab: JupyterLab serves a chapter as a notebook (run by ``make lab-check``).

Skipped unless JupyterLab is installed (``make lab`` installs requirements-lab.txt; make test
does not). Starts the server on 127.0.0.1 as ``make lab`` does, reads a chapter through the
contents API (jupytext turns the .md into a notebook) and the viewer settings, then stops it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kexue_lib.book.build import chapters, find_root

pytest.importorskip("jupyterlab")

ROOT = find_root(Path(__file__).parent)
TOKEN = "kexue-lab-check"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_make_lab_opens_a_chapter_as_a_notebook() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--ip=127.0.0.1", f"--port={port}",
         "--no-browser", "--allow-root", f"--ServerApp.root_dir={ROOT / 'book'}",
         f"--IdentityProvider.token={TOKEN}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _get(f"{base}/api/status")
                break
            except OSError:
                time.sleep(0.5)
        chapter = chapters(ROOT)[0]
        model = _get(f"{base}/api/contents/{chapter.name}?type=notebook&content=1")
        assert model["type"] == "notebook"
        cells = model["content"]["cells"]
        assert any(c["cell_type"] == "code" and "import" in c["source"] for c in cells)
        settings = _get(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        # make lab's overrides.json makes jupytext's notebook view the default for Markdown
        viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers["markdown"] == viewers["myst"] == "Jupytext Notebook"
    finally:
        server.terminate()
        server.wait(timeout=30)
