"""The pure computation the command line and the views share: no Panel, HoloViews or Bokeh.

Geography and frames (``frames``), the time axis (``timeaxis``), choosing a field
(``fields``), probes at a cell (``probes``), areas and regions (``regions``), scenario
comparison (``comparison``), colours (``colours``), coastlines (``coastlines``), tables
(``tables``: every CSV and NetCDF written) and PNG output (``png``).
"""
