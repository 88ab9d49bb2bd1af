"""Charts as inline SVG drawn on the server with pygal: no script, Chinese labels as text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pygal
from pygal.style import Style

_STYLE = Style(
    background="white",
    plot_background="white",
    font_family='"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif',
    colors=("#b91c1c", "#2563eb", "#15803d", "#d97706", "#7c3aed", "#0891b2", "#6b7280"),
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
    title_font_size=15,
)


_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart: Any) -> str:
    """The chart as SVG without pygal's inline config script: pages run no script at all
    (and operators' names never sit inside one)."""
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _config(title: str) -> pygal.Config:
    config = pygal.Config(
        js=[],  # pygal's tooltips script would come from the internet: none
        disable_xml_declaration=True,
        style=_STYLE,
        width=720,
        height=340,
        legend_at_bottom=True,
        legend_at_bottom_columns=4,
        print_values=False,
        show_y_guides=True,
        truncate_legend=-1,
        truncate_label=-1,
        title=title,
    )
    return config


def stacked_bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]]) -> str:
    chart = pygal.StackedBar(_config(title))
    chart.x_labels = list(labels)
    top = max((sum(column) for column in zip(*series.values(), strict=True)), default=0)
    step = max(1, -(-top // 8))  # whole tickets on the axis, at most about eight lines
    if series:  # with none pygal says "No data" and takes no labels
        chart.y_labels = list(range(0, top + step, step))
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart)


def lines(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    chart = pygal.Line(_config(title))
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart)


def pie(title: str, parts: Mapping[str, int]) -> str:
    chart = pygal.Pie(_config(title), inner_radius=0.45)
    for name, value in parts.items():
        chart.add(name, value)
    return _svg(chart)
