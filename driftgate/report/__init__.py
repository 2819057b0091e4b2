"""``driftgate report``: one self-contained HTML page of a model's quality, drift, retraining runs,
gate decisions and adapter registry.

- ``collect.collect_report_data``: the state table → a JSON-ready snapshot;
- ``render.render_report`` / ``render.write_report``: a snapshot → the page (pure);
- ``charts`` / ``svg``: the inline SVG charts; ``markup``: escaping and formats; ``style``: the CSS.
"""
from driftgate.report.collect import collect_report_data
from driftgate.report.render import render_report, report_path, write_report

__all__ = ["collect_report_data", "render_report", "report_path", "write_report"]
