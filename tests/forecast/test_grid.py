"""The study grid: coverage of the outline, sea cells left out, land areas, zones."""

import h3
import numpy as np
import polars as pl
import pytest
import shapely

from tranquillite import geo
from tranquillite.forecasting.grid import build_grid, disk_pairs, equal_area_transformer, locate, to_metric


@pytest.fixture(scope="module")
def grid() -> pl.DataFrame:
    return build_grid(geo.marseille(), 9)


def test_grid_covers_the_outline_exactly(grid):
    area = geo.marseille()
    outline_m2 = to_metric(area.outline, equal_area_transformer(area.outline)).area
    assert grid["area_m2"].sum() == pytest.approx(outline_m2, rel=1e-4)
    assert outline_m2 / 1e6 == pytest.approx(238, abs=3)  # Marseille: 238 km²
    assert grid["h3_cell"].n_unique() == grid.height
    assert grid["cell_idx"].to_list() == list(range(grid.height))
    # every street point of the gazetteer inside the commune falls in a grid cell
    pts = geo.street_points().select("lon", "lat")
    pts = pts.filter(pl.Series(area.contains(pts["lon"].to_numpy(), pts["lat"].to_numpy())))
    located = locate(pts, grid, 9)
    assert located["cell_idx"].null_count() == 0


def test_cells_wholly_at_sea_are_left_out(grid):
    cells = set(grid["h3_cell"].to_list())
    offshore = h3.latlng_to_cell(43.25, 5.30, 9)  # open sea, west of the Prado beaches
    assert offshore not in cells
    assert (grid["area_m2"] > 0).all()
    coastal = grid.filter(pl.col("land_share") < 0.999)
    assert coastal.height > 50  # the coast and the islands
    assert (coastal["area_m2"] < grid["area_m2"].max()).all()


def test_land_areas_in_square_metres(grid):
    inner = grid.filter(pl.col("land_share") > 0.9999)
    exact = np.array([h3.cell_area(c, "m^2") for c in inner["h3_cell"].to_list()])
    assert inner["area_m2"].to_numpy() == pytest.approx(exact, rel=2e-3)
    assert 100_000 < float(np.median(exact)) < 110_000  # ~0.105 km² at resolution 9


def test_every_cell_has_its_zone(grid):
    assert grid["zone"].null_count() == 0
    assert set(grid["zone"].unique().to_list()) == set(geo.marseille().zone_codes.tolist())
    vieux_port = h3.latlng_to_cell(43.2950, 5.3745, 9)
    assert grid.filter(pl.col("h3_cell") == vieux_port)["zone"].item() in ("13201", "13202", "13207")


def test_resolution_is_a_parameter():
    g8 = build_grid(geo.marseille(), 8)
    assert g8.height < 600 and g8["area_m2"].sum() == pytest.approx(
        build_grid(geo.marseille(), 9)["area_m2"].sum(), rel=1e-4
    )
    p = disk_pairs(g8["h3_cell"].to_list()[:50], 1)
    assert set(p["dist"].unique().to_list()) <= {1}


def test_any_outline(tmp_path):
    poly = shapely.box(4.80, 45.74, 4.86, 45.78)
    left, right = shapely.box(4.80, 45.74, 4.83, 45.78), shapely.box(4.83, 45.74, 4.86, 45.78)
    area = geo.Area(
        "Test",
        poly,
        np.array(["A", "B"], dtype=object),
        np.array(["A", "B"], dtype=object),
        np.array([left, right], dtype=object),
    )
    g = build_grid(area, 9)
    assert g["area_m2"].sum() == pytest.approx(to_metric(poly, equal_area_transformer(poly)).area, rel=1e-6)
    assert set(g["zone"].to_list()) == {"A", "B"}
