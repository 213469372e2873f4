"""The areas' shapes from a GeoJSON file (``MEEDOEN_AREAS_GEOJSON``): one polygon or
multipolygon per area, matched to ``MEEDOEN_AREAS`` by a name property. Parsed here, below the
settings that check the file at start; drawn by ``bot.analytics.area_map``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

NAME_PROPERTIES = ("name", "naam", "Name", "Naam")
Ring = tuple[tuple[float, float], ...]


class AreaMapError(ValueError):
    """The file cannot serve as the map; the message is one sentence for the operator."""


@dataclass(frozen=True)
class AreaShapes:
    """Per area: its polygons, each an outer ring followed by its holes."""

    polygons: Mapping[str, tuple[tuple[Ring, ...], ...]]

    def path(self, area: str):
        """A matplotlib Path of the area (imported here: reading the file at start-up, to check
        it, needs no matplotlib)."""
        from matplotlib.path import Path

        vertices: list = []
        codes: list = []
        for polygon in self.polygons[area]:
            for ring in polygon:
                vertices += [*ring, ring[0]]
                codes += [Path.MOVETO] + [Path.LINETO] * (len(ring) - 1) + [Path.CLOSEPOLY]
        return Path(vertices, codes)

    def centre(self, area: str) -> tuple[float, float]:
        """The middle of the area's bounding box: where its label goes."""
        extent = self.path(area).get_extents()
        return (extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2


def parse(text: str, areas: tuple[str, ...], source: str) -> AreaShapes:
    """The shapes of ``areas`` in the GeoJSON ``text`` (read from ``source``, named in errors)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise AreaMapError(f"MEEDOEN_AREAS_GEOJSON: {source} is not valid JSON; export the areas again as GeoJSON.") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise AreaMapError(f"MEEDOEN_AREAS_GEOJSON: {source} is not a GeoJSON FeatureCollection; export the areas again as GeoJSON.")
    polygons: dict[str, tuple] = {}
    for feature in features:
        properties = (feature or {}).get("properties") or {}
        name = next((str(properties[key]).strip() for key in NAME_PROPERTIES if properties.get(key)), None)
        if name not in areas:
            continue
        polygons[name] = _polygons((feature or {}).get("geometry") or {}, name, source)
    missing = [area for area in areas if area not in polygons]
    if missing:
        raise AreaMapError(
            f"MEEDOEN_AREAS_GEOJSON: {source} has no polygon for {', '.join(missing)}; add a feature whose "
            "\"name\" property is exactly that area of MEEDOEN_AREAS."
        )
    return AreaShapes(polygons)


def _polygons(geometry: dict, name: str, source: str) -> tuple:
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Polygon":
            shapes = (coordinates,)
        elif kind == "MultiPolygon":
            shapes = tuple(coordinates)
        else:
            raise TypeError(kind)
        result = tuple(tuple(tuple((float(x), float(y)) for x, y, *_z in ring) for ring in shape) for shape in shapes)
    except (TypeError, ValueError):
        raise AreaMapError(f"MEEDOEN_AREAS_GEOJSON: the area {name} in {source} is not a Polygon or MultiPolygon.") from None
    if not result or any(len(ring) < 3 for shape in result for ring in shape):
        raise AreaMapError(f"MEEDOEN_AREAS_GEOJSON: the area {name} in {source} has a polygon with fewer than three corners.")
    return result
