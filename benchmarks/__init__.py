"""Side-by-side performance runs of Ocean Explorer against the ways its peers do the same job.

Run them with ``make bench`` (``python -m benchmarks``; ``--quick`` for fewer repeats,
``--only NAME`` for one of them). They are not tests: nothing here runs in CI, and a missed
target is reported, not raised.

- ``data``: synthetic stores (a 1/12° global grid in Zarr), written once into the cache;
- ``harness``: options, timing and the printed table shared by every benchmark;
- ``map_frame``: one 800 x 450 map frame, full globe and a 10° zoom, against
  ``gv.Image`` + ``rasterize`` and against plain ``hv.Image``.

A benchmark is a module with ``NAME``, ``DESCRIPTION`` and ``run(options) -> Table``, listed
in ``benchmarks.__main__.BENCHMARKS``.
"""
