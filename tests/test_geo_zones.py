"""`geo.Area.zone_of`: vectorised point-in-polygon, nearest zone just outside, None far away."""

import numpy as np
import shapely

from tranquillite import geo


def two_squares() -> geo.Area:
    west = shapely.box(0.0, 0.0, 1.0, 1.0)
    east = shapely.box(1.0, 0.0, 2.0, 1.0)
    return geo.Area(
        "test",
        shapely.union(west, east),
        np.array(["W", "E"]),
        np.array(["Ouest", "Est"]),
        np.array([west, east], dtype=object),
    )


def test_inside_on_the_border_just_outside_and_far():
    area = two_squares()
    lon = np.array([0.5, 1.5, 1.0, 2.002, -0.003, 3.0, np.nan, 0.5])
    lat = np.array([0.5, 0.5, 0.5, 0.5, 0.2, 0.5, 0.5, np.nan])
    assert area.zone_of(lon, lat).tolist() == ["W", "E", "W", "E", "W", None, None, None]
    # a shared border goes to the first zone in the file's order, whatever the order of the points
    assert area.zone_of(lon[::-1], lat[::-1]).tolist() == ["W", "E", "W", "E", "W", None, None, None][::-1]
    assert area.zone_of(lon, lat, nearest_within_deg=0).tolist()[3:5] == [None, None]


def test_every_point_in_the_zone_that_contains_it():
    area = geo.marseille()
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = area.outline.bounds
    lon, lat = rng.uniform(x0, x1, 20_000), rng.uniform(y0, y1, 20_000)
    got = area.zone_of(lon, lat, nearest_within_deg=0)
    # one point at a time, with no tree and no bounding box
    expected = [
        next((c for c, g in zip(area.zone_codes, area.zone_geoms) if g.intersects(shapely.Point(x, y))), None)
        for x, y in zip(lon, lat)
    ]
    assert got.tolist() == expected
    assert 1_000 < sum(e is not None for e in expected) < 20_000  # points inside and outside
