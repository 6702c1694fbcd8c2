from __future__ import annotations

import xml.etree.ElementTree as ET

from app.maps.service import NO_DATA_COLOR, LegendItem, world_map

LEGEND = [LegendItem("party", "State party", "#1e7d4f"), LegendItem("no", "Not party", "#b42318")]
SVG = "{http://www.w3.org/2000/svg}"


def _paths(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return {p.attrib["data-iso2"]: p for p in root.iter(f"{SVG}path")}


def test_countries_take_their_category_colour_and_others_stay_grey() -> None:
    result = world_map({"TJ": "no", "NO": "party"}, LEGEND, title="CCM status")
    paths = _paths(str(result.svg))
    assert len(paths) > 240
    assert paths["TJ"].attrib["fill"] == "#b42318"
    assert paths["NO"].attrib["fill"] == "#1e7d4f"
    assert paths["FR"].attrib["fill"] == NO_DATA_COLOR
    assert [(item.key, n) for item, n in result.legend] == [("party", 1), ("no", 1)]


def test_tooltips_and_titles_are_escaped() -> None:
    result = world_map(
        {"TJ": "no"}, LEGEND, title="<script>x</script>", details={"TJ": '"><img src=x>'}
    )
    svg = str(result.svg)
    assert "<script>" not in svg and "<img" not in svg
    tip = _paths(svg)["TJ"].find(f"{SVG}title")
    assert tip is not None and tip.text == 'Tajikistan: Not party — "><img src=x>'


def test_links_wrap_coloured_countries_only() -> None:
    svg = str(world_map({"TJ": "no"}, LEGEND, title="t", link_pattern="/countries/{iso2}").svg)
    assert '<a href="/countries/TJ">' in svg
    assert svg.count("<a href=") == 1
