"""Kernels and helpers for the executable book of derivations from Scientific Spaces (kexue.fm).

Each chapter of the book imports what it computes from here. The package has one seam:

- the **kernels**, one module per chapter topic, named for its mathematics (``gaussian_max``,
  ``softmax``, ``polar``, ``spectral_sphere``, ``schedules``, …), and the helpers they share:
  :mod:`kexue_lib.validate` (argument checks with clear ``ValueError``\\ s),
  :mod:`kexue_lib.stats` (Monte Carlo means, standard errors and their checks; power-law fits) and
  :mod:`kexue_lib.numerics` (searches over the integers);
- the **book machinery**, :mod:`kexue_lib.book` (build, execution and structure checks, the
  ledger, display and plotting helpers, benchmark timing), which no kernel imports.
"""

__version__ = "0.1.0"
