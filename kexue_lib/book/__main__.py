"""``python -m kexue_lib.book …``: the command line of :mod:`kexue_lib.book.build`."""

import sys

from kexue_lib.book.build import main

sys.exit(main())
