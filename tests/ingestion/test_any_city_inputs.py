"""Another city's `incidents` files through the landing reader and the contract (issue #13): times
with an offset keep their instant in the area's time zone, the date format is the contract's, a
projected CRS PROJ knows is reprojected, an unknown one quarantines its records, and an area with
no boundary (`TRANQUILLITE_AREA=donnees`) checks positions, not Marseille's outline."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.factories import landing_file, write_csv
from tranquillite import geo
from tranquillite import landing as landing_io
from tranquillite.contracts import ContractError, contracts_for_source, load_contract
from tranquillite.settings import SettingsError, contracts_dir, settings
from tranquillite.validation import reason_code, validate

DAY = "2015-10-26"
ST_LOUIS = {"lon": "-90.2", "lat": "38.63"}


def read(landing: Path, rows: list[dict], day: str = DAY) -> pl.DataFrame:
    write_csv(landing_file(landing, "incidents", day), "incidents", rows)
    raw, _ = landing_io.read_partition(landing, "incidents", day)
    return raw


def row(i: str, ts: str, **kw) -> dict:
    return {
        "id": i,
        "timestamp": ts,
        "category": "vol",
        "lon": "",
        "lat": "",
        "x": "",
        "y": "",
        "crs": "",
        **ST_LOUIS,
        **kw,
    }


def us_contract(tmp_path: Path, fmt="%m/%d/%Y %H:%M"):
    d = yaml.safe_load((contracts_dir() / "incidents.yaml").read_text(encoding="utf-8"))
    d["date_format"] = fmt
    path = tmp_path / "incidents.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    return load_contract(path)


def reasons(outcome) -> dict[str, list[str]]:
    q = outcome.quarantine
    return {r: sorted({reason_code(x) for x in rs}) for r, rs in zip(q["record_id"].to_list(), q["reasons"].to_list())}


def test_an_offset_keeps_its_instant_in_the_area_time_zone(landing):
    raw = read(landing, [row("A", "2015-10-25T23:30:00-05:00"), row("B", "2015-10-25 23:30:00")])
    out = validate(raw, contracts_for_source("incidents"), anywhere=True, timezone="America/Chicago")
    got = dict(out.clean["incidents"].select("id", "timestamp").iter_rows())
    assert got == {"A": datetime(2015, 10, 25, 23, 30), "B": datetime(2015, 10, 25, 23, 30)}  # CDT is -05:00


def test_the_contract_date_format_reads_us_month_first(landing, tmp_path):
    raw = read(landing, [row("A", "10/25/2015 22:00"), row("B", "03/04/2015 08:15"), row("C", "2015-10-25 21:00")])
    out = validate(raw, [us_contract(tmp_path)], anywhere=True, timezone="America/Chicago")
    assert out.n_quarantined == 0, reasons(out)
    got = dict(out.clean["incidents"].select("id", "timestamp").iter_rows())
    assert got == {"A": datetime(2015, 10, 25, 22), "B": datetime(2015, 3, 4, 8, 15), "C": datetime(2015, 10, 25, 21)}


def test_the_default_date_format_stays_french_day_first(landing):
    raw = read(landing, [row("B", "03/04/2015 08:15")], day="2015-04-05")
    out = validate(raw, contracts_for_source("incidents"), anywhere=True, timezone="Europe/Paris")
    assert out.clean["incidents"]["timestamp"].to_list() == [datetime(2015, 4, 3, 8, 15)]


def test_a_bad_date_format_is_refused_by_the_contract(tmp_path):
    with pytest.raises(ContractError, match="date_format"):
        us_contract(tmp_path, fmt=42)


def test_a_projected_crs_proj_knows_is_reprojected_and_an_unknown_one_quarantines(landing):
    # Missouri East state plane (US feet, ESRI:102696): St Louis downtown
    raw = read(
        landing,
        [
            row("ok", "2015-10-25 10:00:00", lon="", lat="", x="896000", y="1021000", crs="ESRI:102696"),
            row("inconnu", "2015-10-25 10:00:00", lon="", lat="", x="896000", y="1021000", crs="EPSG:102696"),
            row("wgs", "2015-10-25 11:00:00"),
        ],
    )
    out = validate(raw, contracts_for_source("incidents"), anywhere=True, timezone="America/Chicago")
    assert reasons(out) == {"inconnu": ["crs_inconnu"]}
    clean = out.clean["incidents"].sort("id")
    assert clean["id"].to_list() == ["ok", "wgs"]
    lon, lat = clean.filter(pl.col("id") == "ok").select("lon", "lat").row(0)
    assert -90.4 < lon < -90.0 and 38.5 < lat < 38.8
    assert clean.filter(pl.col("id") == "ok")["geocode_precision"].item() == "coordonnees_projetees"


def test_without_a_boundary_positions_are_checked_not_marseille(landing):
    raw = read(
        landing,
        [
            row("ok", "2015-10-25 10:00:00"),
            row("zero", "2015-10-25 10:00:00", lon="0", lat="0"),
            row("lat", "2015-10-25 10:00:00", lat="95"),
        ],
    )
    out = validate(raw, contracts_for_source("incidents"), anywhere=True, timezone="America/Chicago")
    got = reasons(out)
    assert got == {"zero": ["coordonnees_invalides"], "lat": ["coordonnees_invalides", "valeur_hors_bornes"]}
    assert out.clean["incidents"]["arrondissement"].to_list() == ["donnees"]
    # the same rows against Marseille: every one out of the area
    marseille = validate(raw, contracts_for_source("incidents"), area=geo.marseille())
    assert marseille.n_clean == 0 and "hors_zone" in reasons(marseille)["ok"]


def test_a_boundary_file_in_another_format_and_crs(tmp_path):
    import geopandas as gpd
    import shapely

    zones = gpd.GeoDataFrame(
        {"code": ["N", "S"]},
        geometry=[shapely.box(-90.3, 38.63, -90.1, 38.7), shapely.box(-90.3, 38.55, -90.1, 38.63)],
        crs="EPSG:4326",
    )
    path = tmp_path / "zones.gpkg"
    zones.to_crs("ESRI:102696").to_file(path, driver="GPKG")
    area = geo.area_from_file(path, "code", name="St Louis")
    assert list(area.zone_codes) == ["N", "S"]
    assert list(area.zone_of([-90.2, -90.2, 5.37], [38.65, 38.6, 43.29])) == ["N", "S", None]


def test_area_settings_are_validated(tmp_path):
    with pytest.raises(SettingsError, match="TRANQUILLITE_TIMEZONE"):
        settings({"TRANQUILLITE_AREA": "donnees"})
    with pytest.raises(SettingsError, match="TRANQUILLITE_AREA"):
        settings({"TRANQUILLITE_AREA": str(tmp_path / "absent.geojson")})
    with pytest.raises(SettingsError, match="TRANQUILLITE_SHIFT_HOURS"):
        settings({"TRANQUILLITE_SHIFT_HOURS": "22,6"})
    s = settings(
        {
            "TRANQUILLITE_AREA": "donnees",
            "TRANQUILLITE_TIMEZONE": "America/Chicago",
            "TRANQUILLITE_HOLIDAYS_COUNTRY": "us",
            "TRANQUILLITE_SHIFT_HOURS": "7,15,23",
        }
    )
    assert (s.area, s.holidays_country, s.shift_hours) == ("donnees", "US", (7, 15, 23))


def test_the_study_area_resource_follows_the_settings(tmp_path, monkeypatch):
    from tranquillite.forecasting.study_area import StudyArea

    assert StudyArea.from_settings(settings({})).spec() == StudyArea().spec()  # Marseille unchanged
    path = tmp_path / "ville.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    spec = StudyArea.from_settings(
        settings(
            {
                "TRANQUILLITE_AREA": str(path),
                "TRANQUILLITE_TIMEZONE": "Asia/Tokyo",
                "TRANQUILLITE_SCHOOL_HOLIDAYS": "aucune",
            }
        )
    ).spec()
    assert spec.boundary_path == str(path.resolve()) and spec.timezone == "Asia/Tokyo"
    assert spec.holidays_country == "" and spec.school_holidays_subdivision is None
    assert spec.sources == ("incidents",) and spec.planned_sources == ()


def test_data_before_the_partitions_start_is_a_clear_error_naming_the_setting(landing, capsys):
    """Files of 2015 with partitions starting in 2025: not `plage vide`, but which setting to change."""
    from tranquillite.cli import main

    write_csv(landing_file(landing, "incidents", "2015-11-01"), "incidents", [row("A", "2015-11-01 10:00:00")])
    write_csv(landing_file(landing, "incidents", "2015-11-02"), "incidents", [row("B", "2015-11-02 10:00:00")])
    assert main(["materialize", "--sans-prevision"]) == 2  # only files before the partitions
    err = capsys.readouterr().err
    assert "TRANQUILLITE_PARTITIONS_START=2015-11-01" in err and "plage vide" not in err
    assert main(["materialize", "--from", "2015-11-01", "--to", "2015-11-02", "--sans-prevision"]) == 2
    err = capsys.readouterr().err
    assert "TRANQUILLITE_PARTITIONS_START=2015-11-01" in err and "rien n'a été ingéré" in err
    assert not (landing.parent / "warehouse" / "raw").exists()
