"""Kernels and helpers for the executable book of derivations from Scientific Spaces (kexue.fm).

Each chapter of the book imports what it computes from here; the modules are:

- :mod:`kexue_lib.validate` — argument checks shared by every kernel (clear ``ValueError``\\ s);
- :mod:`kexue_lib.ledger` — the table that closes every chapter: each claim of the source post,
  marked verified, corrected or not checked;
- :mod:`kexue_lib.plotting` — the book's figure style (readable in light and dark themes);
- :mod:`kexue_lib.stats` — small statistics helpers (log–log slopes of power laws);
- :mod:`kexue_lib.book` — executes chapters (for the tests and benchmarks) and builds the book;

plus one module per chapter topic.
"""

__version__ = "0.1.0"
