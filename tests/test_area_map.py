"""The participation map as a map (issue 17 §3): MEEDOEN_AREAS_GEOJSON read and checked, and
the report's chart drawn as choropleths from a small synthetic GeoJSON."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import insert

from bot.analytics.report_chart import render_png
from bot.common.area_shapes import AreaMapError, parse
from bot.config import ConfigError, load_settings, read_shapes
from bot.store.report_data import build
from bot.store.schema import listening_responses
from tests.conftest import NOW
from tests.test_listening_report import answers

AREAS = ("Noord", "Zuid", "Oost", "West")


def square(x: float, y: float, size: float = 0.02) -> list:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def synthetic(areas=AREAS, **override) -> dict:
    """Four made-up squares around Amsterdam; West a MultiPolygon of two, Oost with a hole."""
    places = {"Noord": (4.90, 52.40), "Zuid": (4.90, 52.34), "Oost": (4.95, 52.37), "West": (4.84, 52.37)}
    features = []
    for name in areas:
        x, y = places[name]
        geometry = {"type": "Polygon", "coordinates": square(x, y)}
        if name == "West":
            geometry = {"type": "MultiPolygon", "coordinates": [square(x, y), square(x - 0.025, y, 0.015)]}
        if name == "Oost":
            geometry["coordinates"] = square(x, y) + [square(x + 0.007, y + 0.007, 0.006)[0]]
        features.append({"type": "Feature", "properties": {"name": name}, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features, **override}


def test_every_area_gets_its_polygons():
    shapes = parse(json.dumps(synthetic()), AREAS, "areas.geojson")
    assert set(shapes.polygons) == set(AREAS)
    assert len(shapes.polygons["West"]) == 2 and len(shapes.polygons["Oost"][0]) == 2  # a hole


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "is not valid JSON"),
    (json.dumps({"type": "Feature"}), "is not a GeoJSON FeatureCollection"),
    (json.dumps(synthetic(("Noord", "Zuid", "Oost"))), "has no polygon for West"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"properties": {"name": "Noord"}, "geometry": {"type": "Point", "coordinates": [4.9, 52.4]}}]}),
     "the area Noord in areas.geojson is not a Polygon or MultiPolygon"),
])
def test_a_file_that_cannot_serve_gets_one_sentence(text, message):
    with pytest.raises(AreaMapError) as caught:
        parse(text, AREAS, "areas.geojson")
    assert message in str(caught.value) and str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


def test_the_setting_is_checked_when_the_settings_are_read(tmp_path):
    good = tmp_path / "areas.geojson"
    good.write_text(json.dumps(synthetic()), encoding="utf-8")
    environ = {"MEEDOEN_AREAS": ",".join(AREAS), "MEEDOEN_AREAS_GEOJSON": str(good)}
    settings = load_settings(environ, env_file=None)
    assert settings.areas_geojson == str(good)
    assert read_shapes(settings.areas_geojson, settings.areas) is not None
    with pytest.raises(ConfigError, match="cannot read .*missing.geojson; check the path"):
        load_settings({**environ, "MEEDOEN_AREAS_GEOJSON": str(tmp_path / "missing.geojson")}, env_file=None)
    with pytest.raises(ConfigError, match="has no polygon for Centrum"):
        load_settings({**environ, "MEEDOEN_AREAS": "Centrum," + ",".join(AREAS)}, env_file=None)
    assert read_shapes(None, AREAS) is None


def colour_at(image: Image.Image, x: float, y: float) -> tuple:
    return image.getpixel((round(x), round(y)))[:3]


async def test_the_chart_draws_a_choropleth_with_hidden_areas_hatched(db, settings, tmp_path):
    import dataclasses

    settings = dataclasses.replace(settings, areas=AREAS)
    shapes = parse(json.dumps(synthetic()), AREAS, "areas.geojson")
    async with db.transaction() as connection:
        await connection.execute(
            insert(listening_responses),
            answers("Noord", 10) + answers("Noord", 4, barriers=0b10000)
            + answers("Zuid", 8, barriers=0b10000) + answers("Zuid", 4)
            + answers("West", 7) + answers("West", 4, barriers=0b10000) + answers("Oost", 3),
        )
        built = await build(connection, settings, NOW)
    # Oost (3 men) is hidden, and West with it (else 3 by subtraction).
    assert built.listening.main_barrier("Noord") == 0 and built.listening.main_barrier("Zuid") == 4
    assert built.listening.main_barrier("West") is None and built.listening.main_barrier("Oost") is None
    png = render_png(built, "nl", shapes)
    (tmp_path / "map.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image)
    grid = render_png(built, "nl")
    assert png != grid  # without the file: today's grid
    # The lower half holds four maps: hatched grey (hidden) and the barrier colours of tab10.
    lower = pixels[pixels.shape[0] // 2:]
    colours = {tuple(int(c) for c in p) for p in lower.reshape(-1, 3)}
    assert (217, 217, 217) in colours  # hidden areas, grey
    assert (31, 119, 180) in colours and (148, 103, 189) in colours  # tab10: barrier 0 and 4
