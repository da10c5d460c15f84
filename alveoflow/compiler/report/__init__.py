"""Reports of a planned design: ``report.json`` (``build``) and ``report.html`` (``render``)."""

from alveoflow.compiler.report.build import build_report, plan_and_report
from alveoflow.compiler.report.render import render_report

__all__ = ["build_report", "plan_and_report", "render_report"]
