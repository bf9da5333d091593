"""Side-by-side performance runs of Ocean Explorer against the ways its peers do the same job.

Run them with ``make bench`` (``python -m benchmarks``; ``--quick`` for fewer repeats,
``--only NAME`` for one of them). They are not tests: nothing here runs in CI, and a missed
target is reported, not raised.

- ``data``: synthetic stores (1/12° and 1/24° global grids in Zarr, and their prepared
  copies), written once into the cache;
- ``harness``: options, timing, the printed tables and the targets shared by every benchmark;
- ``browser``: ``ocean-explorer serve`` in a subprocess and headless Chromium on its page;
- ``map_frame``: one 800 x 450 map frame, full globe and a 10° zoom, at 1/12° and 1/24°,
  against ``gv.Image`` + ``rasterize``, xpublish-wms ``GetMap`` and cartopy ``pcolormesh``;
  payload per frame against the full grid;
- ``point_series``: a ten-year point series, time-chunked store against the prepared one;
- ``probe_latency``: a drawn area, a click's series, a dataset switch and an animation step
  on the demo ocean, measured on this checkout and on the commit before (server time);
- ``browser_latency``: a time step to the new map painted, in Chromium;
- ``server_memory``: the server's peak memory while Chromium browses a 16 GB store.

A benchmark is a module with ``NAME``, ``DESCRIPTION`` and ``run(options)`` returning a
``Table`` or a list of them (each with its ``targets``), listed in
``benchmarks.__main__.BENCHMARKS``; the run ends with one table of every target.
"""
