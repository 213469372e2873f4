"""The drawing of one choropleth map of the areas (their shapes: ``bot.common.area_shapes``).
Pure: the caller reads the file.

The file holds one feature per area, a Polygon or MultiPolygon, whose ``name`` property (or
``naam``, as Amsterdam's open data writes it) is exactly an area of MEEDOEN_AREAS. Coordinates
are drawn as they are (longitude, latitude), with the x axis shrunk by the cosine of the
latitude so that the city keeps its shape; plain matplotlib patches, no GIS library.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bot.common.area_shapes import AreaShapes

HIDDEN_GREY = "#d9d9d9"


def draw(axes, shapes: AreaShapes, colour_of: Callable[[str], str | None], label_of: Callable[[str], str],
         title: str, hidden: str) -> None:
    """One choropleth: each area filled with ``colour_of(area)``, or hatched grey and labelled
    ``hidden`` when that is None; ``label_of(area)`` under its name."""
    from matplotlib.patches import PathPatch

    for area in shapes.polygons:
        colour = colour_of(area)
        patch = PathPatch(
            shapes.path(area), facecolor=colour or HIDDEN_GREY, edgecolor="#424242", linewidth=0.8,
            hatch=None if colour else "///",
        )
        axes.add_patch(patch)
        x, y = shapes.centre(area)
        axes.text(x, y, f"{area}\n{label_of(area) if colour else hidden}", ha="center", va="center", fontsize=6.5)
    axes.autoscale_view()
    middle = sum(shapes.centre(area)[1] for area in shapes.polygons) / len(shapes.polygons)
    axes.set_aspect(1 / max(math.cos(math.radians(middle)), 0.1))
    axes.set_axis_off()
    axes.set_title(title, fontsize=9)
