"""The Report page's charts: bot/charts/svg.py's, so the page and the weekly image draw alike."""

from __future__ import annotations

from bot.charts.svg import lines, pie, stacked_bars

__all__ = ["lines", "pie", "stacked_bars"]
