"""``python -m bench.sessions``: the one-to-one density bench by the name issue 15 gives
it. It is :mod:`bench.one_to_one`, with the same options (``--help``): concurrent
one-to-one sessions per server core, each person publishing and receiving the other."""

from __future__ import annotations

import sys

from bench.one_to_one import main

if __name__ == "__main__":
    sys.exit(main())
