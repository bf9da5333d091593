"""One-time preparation run by ``make run`` / ``make test``: demo land mask and coastlines.

Both are also built on first use; doing it up front keeps the first page fast.
"""

from __future__ import annotations

import sys
import time

from components.core.coastlines import offline_cartopy
from data_adapters.cache import cache_dir
from data_adapters.demo import DemoOceanAdapter, land_fraction


def main() -> int:
    """Build what is missing and print one line with sizes."""
    start = time.perf_counter()
    resolution = float(DemoOceanAdapter.param.resolution.default)
    land_fraction(round(180 / resolution), round(360 / resolution))
    offline_cartopy()
    root = cache_dir()
    made = [cache_dir("demo"), cache_dir("cartopy")]  # not what benchmarks keep there
    size = sum(p.stat().st_size for folder in made for p in folder.rglob("*") if p.is_file())
    print(
        f"prepared {root} ({size / 1e6:.1f} MB: demo land mask, offline coastlines) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
