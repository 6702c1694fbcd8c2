"""World maps drawn on the server from bundled country shapes: no network, no script.

The shapes (app/maps/data/world.json) come from @svg-maps/world (CC BY 4.0), keyed by ISO 3166
alpha-2 code. Callers give each country a category; the legend says what each colour means.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

DATA = Path(__file__).parent / "data" / "world.json"
NO_DATA_COLOR = "#dfe4ea"
ATTRIBUTION = "Map shapes: @svg-maps/world (MapSVG), CC BY 4.0"


@dataclass(frozen=True)
class LegendItem:
    key: str
    label: str
    color: str


@dataclass(frozen=True)
class WorldMap:
    svg: Markup
    legend: list[tuple[LegendItem, int]]
    attribution: str = ATTRIBUTION


@lru_cache
def _shapes() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def world_map(
    categories: Mapping[str, str],
    legend: Sequence[LegendItem],
    *,
    title: str,
    details: Mapping[str, str] | None = None,
    link_pattern: str | None = None,
) -> WorldMap:
    """An SVG world map: ``categories`` maps ISO alpha-2 codes to legend keys.

    ``details`` adds text to a country's tooltip; ``link_pattern`` (with ``{iso2}``) makes each
    coloured country a link.
    """
    shapes = _shapes()
    colors = {item.key: item.color for item in legend}
    labels = {item.key: item.label for item in legend}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{shapes["viewBox"]}" '
        f'class="world-map" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for iso2, shape in shapes["countries"].items():
        key = categories.get(iso2)
        fill = colors.get(key, NO_DATA_COLOR) if key else NO_DATA_COLOR
        tip = shape["name"] + (f": {labels[key]}" if key in labels else "")
        if details and details.get(iso2):
            tip += f" — {details[iso2]}"
        category = f' data-category="{escape(key)}"' if key else ""
        path = (
            f'<path d="{shape["path"]}" fill="{fill}" stroke="#ffffff" stroke-width="0.8" '
            f'data-iso2="{iso2}"{category}><title>{escape(tip)}</title></path>'
        )
        if link_pattern and key:
            path = f'<a href="{escape(link_pattern.format(iso2=iso2))}">{path}</a>'
        parts.append(path)
    parts.append("</svg>")
    counts = Counter(categories.values())
    return WorldMap(
        svg=Markup("".join(parts)),  # noqa: S704 - every interpolated value is escaped above
        legend=[(item, counts.get(item.key, 0)) for item in legend],
    )
