"""The book machinery: everything that turns chapters into a tested, rendered book.

The mathematical kernels live one module per chapter topic in :mod:`kexue_lib`; this
subpackage holds what the chapters and the build share:

- :mod:`kexue_lib.book.build` — finds the chapters, executes one fresh (``make test``), checks
  their structure (the five beats), builds the HTML book with a cache that cannot go stale
  (``make build``), previews one chapter; ``python -m kexue_lib.book …`` is its command line;
- :mod:`kexue_lib.book.ledger` — the table that closes every chapter: each claim of the source
  post, marked verified, qualified, corrected or not checked;
- :mod:`kexue_lib.book.display` — what a chapter shows: the chapter set-up, tables, glued numbers;
- :mod:`kexue_lib.book.plotting` — the figure style and the named figure sizes;
- :mod:`kexue_lib.book.benchmark` — timing helpers for ``make bench``.

Nothing here is imported by the kernels.
"""
