"""Contract-driven validation: raw records → typed clean rows + quarantined rows with every reason.

Every rule comes from the YAML contract (required, type, enumeration, pattern, bounds — `min`,
`max`, the dates' window around the export day, the longest text —, `after`, free text scanned
for personal data, location inside the study area). Rules are vectorised Polars expressions;
geometry work is vectorised shapely. Nothing is lost: `read = clean + quarantined + exact
duplicates` for every batch (see `Outcome.balanced`), and per partition against the landing
files' independent record count (`Outcome.ledger(counted=…)`).

Reason codes (stable, used by tests, checks and the app). Set by the landing reader
(`_parse_error`, the record is quarantined whole):
`lecture_invalide` (a record the reader could not split), `encodage_invalide`, `json_invalide`,
`nombre_de_colonnes_incorrect`, `entree_non_objet`, `entrees_non_liste` (a JSON envelope whose
`entries` is not a list), `guillemet_non_ferme` (a CSV quote never closed: the record is read
alone, the rows it swallowed are read as records), `lecture_divergente` (the parser and the
independent counter disagree on a record, read alone), `champ_trop_long` (a CSV field over the
reader's limit).
Set by the contract's rules:
`type_entree_inconnu`, `champ_obligatoire_manquant`, `date_invalide`, `date_hors_bornes` (a
date outside the contract's window around the export day, e.g. year 9999), `valeur_invalide`
(not a number, NaN, inf, not an integer), `valeur_hors_bornes` (outside the field's `min`/`max`),
`champ_trop_long` (longer than the contract's `text_max_length`), `valeur_hors_enumeration`,
`format_invalide`, `fin_avant_debut`, `hors_zone` (outside the configured study area),
`coordonnees_invalides` (no study-area boundary, `TRANQUILLITE_AREA=donnees`: not a WGS84
position, or 0,0), `adresse_inconnue`, `crs_inconnu` (projected
coordinates in a coordinate system PROJ does not know), `geometrie_invalide`,
`identifiant_duplique`, `donnee_personnelle`. A reason is written `code:field` (or `code:kind`
for personal data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import polars as pl
import shapely
from pyproj import Transformer
from pyproj.exceptions import CRSError

from tranquillite import geo
from tranquillite.contracts import Contract, Field
from tranquillite.pii.columns import kind_column, with_kinds
from tranquillite.timezones import PARIS_NAME

AREA_TOLERANCE_DEG = 0.004  # ~300 m: quays and breakwaters just off the outline are kept
LOCAL_TZ = PARIS_NAME
REASONS = "_reasons"
PARSED = "_parsed_"  # a field's typed value, computed once per batch (`_validate_contract`)

_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
_FROM_L93 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


# --------------------------------------------------------------------------- typing
FRENCH_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
ISO_NAIVE = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
)
ISO_AWARE = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M%z",
)


def date_formats(c: Contract | None) -> tuple[str, ...]:
    """The naive formats of a contract's dates: its `date_format` (one format or a list, e.g.
    `"%m/%d/%Y %H:%M"` for a US export) — then `03/04/2015` is 4 March — else the French
    day-first ones; ISO 8601 is always read."""
    given = (c.meta.get("date_format") if c is not None else None) or ()
    given = (given,) if isinstance(given, str) else tuple(given)
    return (*given, *ISO_NAIVE) if given else (*FRENCH_FORMATS, *ISO_NAIVE)


def parse_datetime(e: pl.Expr, tz: str = LOCAL_TZ, formats: tuple[str, ...] | None = None) -> pl.Expr:
    """Local wall-clock time of the study area (`tz`): naive formats are read as local time, an
    ISO 8601 time with an offset keeps its instant and is shown in `tz`."""
    s = e.str.strip_chars()
    naive = [s.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in (formats or date_formats(None))]
    aware = [
        s.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False).dt.convert_time_zone(tz).dt.replace_time_zone(None)
        for fmt in ISO_AWARE
    ]
    return pl.coalesce(*aware, *naive)


def _number(e: pl.Expr) -> pl.Expr:
    return e.str.strip_chars().str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


def typed(f: Field, e: pl.Expr, c: Contract | None = None, tz: str = LOCAL_TZ) -> pl.Expr:
    if f.type == "datetime":
        return parse_datetime(e, tz, date_formats(c))
    if f.type == "integer":
        return _number(e).cast(pl.Int64, strict=False)
    if f.type in {"number", "longitude", "latitude"}:
        return _number(e)
    if f.type == "address_list":
        return e.str.json_decode(pl.List(pl.Utf8))
    return e.str.strip_chars()


def _present(e: pl.Expr) -> pl.Expr:
    return e.is_not_null() & (e.str.strip_chars() != "") & (e.str.strip_chars() != "[]")


def field_reasons(c: Contract, f: Field, tz: str = LOCAL_TZ, parsed: dict[str, pl.Expr] | None = None) -> list[pl.Expr]:
    """One expression per rule of the field, each giving a reason string or null. `parsed`: the
    typed value of fields already computed (field name → expression, e.g. a column: the dates,
    parsed once — a date is tried against a dozen formats — not once per rule that reads it)."""
    parsed = parsed or {}

    def value(g: Field) -> pl.Expr:
        return parsed[g.name] if g.name in parsed else typed(g, pl.col(g.header), c, tz)

    raw = pl.col(f.header)
    present = _present(raw)
    rules: list[pl.Expr] = []
    if f.required:
        rules.append(pl.when(~present).then(pl.lit(f"champ_obligatoire_manquant:{f.name}")))
    v = value(f)
    if f.type == "datetime":
        rules.append(pl.when(present & v.is_null()).then(pl.lit(f"date_invalide:{f.name}")))
        rules.append(_date_window(c, f, v))
    elif f.type in {"integer", "number", "longitude", "latitude"}:
        bad = present & (v.is_null() | ~_number(raw).is_finite())  # NaN and inf are no values
        if f.type == "integer":
            bad = bad | (present & (_number(raw) != _number(raw).floor()))
        rules.append(pl.when(bad).then(pl.lit(f"valeur_invalide:{f.name}")))
        out = pl.lit(False)
        if f.min is not None:
            out = out | (v < f.min)
        if f.max is not None:
            out = out | (v > f.max)
        rules.append(pl.when(present & ~bad & out).then(pl.lit(f"valeur_hors_bornes:{f.name}")))
    elif f.type == "enum":
        rules.append(
            pl.when(present & ~raw.str.strip_chars().is_in(list(f.values))).then(
                pl.lit(f"valeur_hors_enumeration:{f.name}")
            )
        )
    elif f.type == "address_list":
        decoded = raw.str.json_decode(pl.List(pl.Utf8))
        rules.append(pl.when(present & decoded.is_null()).then(pl.lit(f"valeur_invalide:{f.name}")))
    if f.pattern:
        rules.append(
            pl.when(present & ~raw.str.strip_chars().str.contains(f.pattern)).then(pl.lit(f"format_invalide:{f.name}"))
        )
    if f.after:
        start = c.field(f.after)
        rules.append(pl.when(value(f) < value(start)).then(pl.lit("fin_avant_debut")))
    if c.bounds.text_max_length is not None:
        rules.append(pl.when(raw.str.len_chars() > c.bounds.text_max_length).then(pl.lit(f"champ_trop_long:{f.name}")))
    if f.free_text:  # kinds computed once per batch by `with_kinds` (Presidio, see tranquillite.pii)
        kind = pl.col(kind_column(f.name))
        rules.append(pl.when(present & kind.is_not_null()).then(pl.lit("donnee_personnelle:") + kind))
    return rules


def _date_window(c: Contract, f: Field, v: pl.Expr) -> pl.Expr:
    """`date_hors_bornes`: a date outside [export day - days_before, export day + days_after]."""
    b = c.bounds
    if b.days_before_export is None and b.days_after_export is None:
        return pl.lit(None, dtype=pl.Utf8)
    day = pl.col("_partition").str.to_date(strict=False).cast(pl.Datetime("us"))
    out = pl.lit(False)
    if b.days_before_export is not None:
        out = out | (v < day - pl.duration(days=b.days_before_export))
    if b.days_after_export is not None:
        out = out | (v >= day + pl.duration(days=b.days_after_export + 1))
    return pl.when(v.is_not_null() & out).then(pl.lit(f"date_hors_bornes:{f.name}"))


# --------------------------------------------------------------------------- location
LOCATED = ["lon", "lat", "geocode_precision", "geometry", "geometry_type"]


def _located(lon, lat, precision, geometry, gtype, reasons) -> pl.DataFrame:
    """Location columns, prefixed `_loc_` until the final select (contracts may use lon/lat)."""
    values = [lon, lat, precision.tolist(), geometry.tolist(), gtype.tolist()]
    types = [pl.Float64, pl.Float64, pl.Utf8, pl.Utf8, pl.Utf8]
    cols = {f"_loc_{n}": pl.Series(values=v, dtype=t) for n, v, t in zip(LOCATED, values, types)}
    return pl.DataFrame(cols).with_columns(_loc_reason=pl.Series(values=reasons.tolist(), dtype=pl.Utf8))


@lru_cache(maxsize=64)
def _transformer(code: str) -> Transformer | None:
    """Transformer from a CRS of the data to WGS84, or None when PROJ does not know the CRS."""
    try:
        return Transformer.from_crs(code, "EPSG:4326", always_xy=True)
    except CRSError:
        return None


ANYWHERE_ZONE = "donnees"  # the zone of every record when the area is the data's (no boundary)


def _in_area(lon: np.ndarray, lat: np.ndarray, area: geo.Area | None) -> np.ndarray:
    if area is None:
        return valid_wgs84(lon, lat)
    return area.contains(lon, lat, tolerance_deg=AREA_TOLERANCE_DEG)


def valid_wgs84(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A position on Earth in WGS84 degrees, and not 0,0 (a default of many exports)."""
    lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    return ok & ~((lon == 0) & (lat == 0))


def _outside_reason(area: geo.Area | None) -> str:
    return "coordonnees_invalides" if area is None else "hors_zone"


def _points_location(df: pl.DataFrame, c: Contract, area: geo.Area | None) -> pl.DataFrame:
    """lon/lat from the record, from projected x/y + CRS, or geocoded from the address."""
    types = {f.type: f for f in c.fields}
    n = df.height
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    precision = np.full(n, None, dtype=object)
    unknown_crs = np.zeros(n, dtype=bool)
    if "longitude" in types and "latitude" in types:
        lo = df.select(typed(types["longitude"], pl.col(types["longitude"].header))).to_series()
        la = df.select(typed(types["latitude"], pl.col(types["latitude"].header))).to_series()
        lon, lat = lo.fill_null(np.nan).to_numpy().copy(), la.fill_null(np.nan).to_numpy().copy()
        precision[np.isfinite(lon) & np.isfinite(lat)] = "coordonnees"
    xs = [f for f in c.fields if f.name in {"x", "y"}]
    crs_field = c.meta.get("crs_field")
    if len(xs) == 2 and crs_field:
        x = df.select(_number(pl.col("x"))).to_series().to_numpy()
        y = df.select(_number(pl.col("y"))).to_series().to_numpy()
        crs = df.get_column(c.field(crs_field).header).to_numpy()
        need = ~np.isfinite(lon) & np.isfinite(x) & np.isfinite(y)
        for code in {v for v in crs[need] if v}:  # one transform per distinct CRS, vectorised
            sel = need & (crs == code)
            to_wgs84 = _transformer(code)
            if to_wgs84 is None:  # unknown to PROJ: those records only, with their reason
                unknown_crs[sel] = True
                continue
            try:
                tx, ty = to_wgs84.transform(x[sel], y[sel], errcheck=False)
            except Exception:  # noqa: BLE001 - PROJ cannot use it: those records only, with their reason
                unknown_crs[sel] = True
                continue
            lon[sel], lat[sel] = np.asarray(tx, dtype="float64"), np.asarray(ty, dtype="float64")
            precision[sel] = "coordonnees_projetees"
    addr = next((f for f in c.fields if f.type == "address"), None)
    reasons = np.full(n, None, dtype=object)
    need = ~(np.isfinite(lon) & np.isfinite(lat))
    if addr is not None and need.any():
        g = geo.geocode(df.get_column(addr.header).filter(pl.Series(need)))
        lon[need] = g.get_column("lon").fill_null(np.nan).to_numpy()
        lat[need] = g.get_column("lat").fill_null(np.nan).to_numpy()
        precision[need] = g.get_column("precision").to_numpy()
    have = np.isfinite(lon) & np.isfinite(lat)
    reasons[~have] = f"adresse_inconnue:{addr.name}" if addr is not None else "champ_obligatoire_manquant:coordonnees"
    outside = have & ~_in_area(np.nan_to_num(lon), np.nan_to_num(lat), area)
    reasons[outside] = _outside_reason(area)
    if unknown_crs.any():
        reasons[unknown_crs & ~have] = f"crs_inconnu:{crs_field}"
    geometry = shapely.to_geojson(shapely.points(lon, lat))
    geometry = np.where(have, geometry, None)
    return _located(lon, lat, precision, geometry, np.where(have, "Point", None), reasons)


def _geocoded_lists(df: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Geocode the ordered addresses of several fields (address or address_list), as one list."""
    parts = []
    for order, name in enumerate(names):
        col = pl.col(name)
        as_list = (
            pl.when(col.str.starts_with("[")).then(col.str.json_decode(pl.List(pl.Utf8))).otherwise(pl.concat_list(col))
        )
        parts.append(
            df.select(pl.int_range(pl.len()).alias("_row"), as_list.alias("a"))
            .explode("a")
            .with_columns(pl.lit(order).alias("_f"))
            .with_columns(pl.int_range(pl.len()).over("_row").alias("_k"))
        )
    long = pl.concat(parts).filter(pl.col("a").is_not_null() & (pl.col("a").str.strip_chars() != ""))
    long = long.sort("_row", "_f", "_k")
    g = geo.geocode(long.get_column("a"))
    long = long.with_columns(lon=g.get_column("lon"), lat=g.get_column("lat"), precision=g.get_column("precision"))
    agg = long.group_by("_row").agg(
        pl.col("lon"),
        pl.col("lat"),
        pl.col("a").alias("addresses"),
        pl.col("lon").is_null().sum().alias("n_unknown"),
        pl.col("precision").drop_nulls().first().alias("precision"),
        pl.col("a").filter(pl.col("lon").is_null()).first().alias("first_unknown"),
    )
    return pl.DataFrame({"_row": np.arange(df.height)}).join(agg, on="_row", how="left").sort("_row")


def _buffer_m(points: np.ndarray, radius_m: float) -> np.ndarray:
    """Metric buffer (Lambert-93) around WGS84 geometries, vectorised."""
    proj = shapely.transform(points, lambda xy: np.column_stack(_TO_L93.transform(xy[:, 0], xy[:, 1])))
    buf = shapely.buffer(proj, radius_m, quad_segs=8)
    return shapely.transform(buf, lambda xy: np.column_stack(_FROM_L93.transform(xy[:, 0], xy[:, 1])))


def _shape_location(df: pl.DataFrame, c: Contract, area: geo.Area | None) -> pl.DataFrame:
    """Préfecture geometries: route (LineString), footprint (Polygon) or address points."""
    n = df.height
    gfield = c.field(c.event["geometry"])
    reasons = np.full(n, None, dtype=object)
    geoms = np.full(n, None, dtype=object)
    addr_fields = list(gfield.derived_from) if gfield.type == "geometry" else [gfield.name]
    gl = _geocoded_lists(df, addr_fields)
    n_addr = gl.get_column("lon").list.len().fill_null(0).to_numpy()
    n_unknown = gl.get_column("n_unknown").fill_null(0).to_numpy()
    first_unknown = gl.get_column("first_unknown").to_numpy()
    if gfield.type == "geometry":
        given = df.get_column(gfield.header).to_numpy()
        has_given = np.array(df.select(_present(pl.col(gfield.header))).to_series().fill_null(False))
        parsed = shapely.from_geojson(np.where(has_given, given, None), on_invalid="ignore")
        wrong_type = has_given & (shapely.get_type_id(parsed) != {"LineString": 1, "Polygon": 3}[gfield.geometry_type])
        invalid = has_given & (shapely.is_missing(parsed) | wrong_type | ~shapely.is_valid(parsed))
        reasons[invalid] = f"geometrie_invalide:{gfield.name}"
        ok_given = has_given & ~invalid
        geoms[ok_given] = parsed[ok_given]
        derive = ~has_given
    else:
        derive = np.ones(n, dtype=bool)
    # derived geometry from the geocoded addresses
    lons = gl.get_column("lon").to_list()
    lats = gl.get_column("lat").to_list()
    unknown = derive & ((n_unknown > 0) | (n_addr == 0))
    reasons[unknown & (reasons == None)] = [  # noqa: E711
        f"adresse_inconnue:{v}" if v else f"champ_obligatoire_manquant:{addr_fields[0]}"
        for v in first_unknown[unknown & (reasons == None)]  # noqa: E711
    ]
    can = derive & ~unknown
    idx = np.flatnonzero(can)
    if idx.size:
        coords = [np.column_stack([lons[i], lats[i]]) for i in idx]  # few hundred entries a year
        if gfield.type == "geometry" and gfield.geometry_type == "LineString":
            made = np.array(
                [shapely.linestrings(xy) if len(xy) >= 2 else shapely.points(xy[0]) for xy in coords], dtype=object
            )
        elif gfield.type == "geometry" and gfield.geometry_type == "Polygon":
            made = _buffer_m(shapely.points(np.array([xy[0] for xy in coords])), gfield.default_radius_m or 50.0)
        else:
            made = np.array(
                [shapely.points(xy[0]) if len(xy) == 1 else shapely.multipoints(xy) for xy in coords], dtype=object
            )
        geoms[idx] = made
    have = np.array([g is not None for g in geoms], dtype=bool)
    inside = np.zeros(n, dtype=bool)
    if area is None:
        b = shapely.bounds(geoms[have].astype(object)).reshape(-1, 4)
        inside[have] = valid_wgs84(b[:, 0], b[:, 1]) & valid_wgs84(b[:, 2], b[:, 3])
    else:
        inside[have] = shapely.within(geoms[have].astype(object), area.buffered(AREA_TOLERANCE_DEG))
    reasons[have & ~inside & (reasons == None)] = _outside_reason(area)  # noqa: E711
    rep = np.full(n, None, dtype=object)
    rep[have] = shapely.point_on_surface(geoms[have].astype(object))
    lon = np.where(have, shapely.get_x(rep.astype(object)) if have.any() else np.nan, np.nan)
    lat = np.where(have, shapely.get_y(rep.astype(object)) if have.any() else np.nan, np.nan)
    gj = np.full(n, None, dtype=object)
    gj[have] = shapely.to_geojson(geoms[have].astype(object))
    gtype = np.full(n, None, dtype=object)
    gtype[have] = shapely.get_type_id(geoms[have].astype(object))
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
    gtype = np.array([names.get(t) if t is not None else None for t in gtype], dtype=object)
    precision = gl.get_column("precision").to_numpy()
    precision = np.where(derive, precision, "geometrie_saisie")
    return _located(lon.astype(float), lat.astype(float), precision, gj, gtype, reasons)


def locate(df: pl.DataFrame, c: Contract, area: geo.Area | None) -> pl.DataFrame:
    """Location columns of the records; `area` None: no boundary (`TRANQUILLITE_AREA=donnees`)."""
    if c.event.get("geometry") == "point":
        return _points_location(df, c, area)
    return _shape_location(df, c, area)


# --------------------------------------------------------------------------- outcome
LEDGER_SCHEMA = {
    "source": pl.Utf8,
    "partition": pl.Utf8,
    "read": pl.Int64,
    "parsed": pl.Int64,
    "clean": pl.Int64,
    "quarantined": pl.Int64,
    "duplicates": pl.Int64,
}


@dataclass
class Outcome:
    """What one batch (a source × partitions) became."""

    source: str
    read: int
    duplicates: int
    clean: dict[str, pl.DataFrame] = field(default_factory=dict)
    quarantine: pl.DataFrame | None = None
    read_by_partition: dict[str, int] = field(default_factory=dict)
    duplicates_by_partition: dict[str, int] = field(default_factory=dict)

    def ledger(self, partitions: list[str], counted: dict[str, int] | None = None) -> pl.DataFrame:
        """Per partition: records read = clean + quarantined + exact duplicates?

        `read` is the independent counter's figure when `counted` is given (the landing files'
        records, `governance.landing_files`), else the records the parser produced; `parsed` is
        always the latter. A parser that loses or invents records unbalances the partition."""

        def counts(df: pl.DataFrame | None, col: str) -> dict[str, int]:
            if df is None or df.height == 0:
                return {}
            return dict(df.group_by(col).len().iter_rows())

        clean = [counts(df, "_partition") for df in self.clean.values()]
        quar = counts(self.quarantine, "partition")
        rows = []
        for k in partitions:
            n_clean = sum(c.get(k, 0) for c in clean)
            parsed = self.read_by_partition.get(k, 0)
            rows.append(
                {
                    "source": self.source,
                    "partition": k,
                    "read": parsed if counted is None else counted.get(k, 0),
                    "parsed": parsed,
                    "clean": n_clean,
                    "quarantined": quar.get(k, 0),
                    "duplicates": self.duplicates_by_partition.get(k, 0),
                }
            )
        df = pl.DataFrame(rows, schema=LEDGER_SCHEMA)
        return df.with_columns(
            balanced=pl.col("read") == pl.col("clean") + pl.col("quarantined") + pl.col("duplicates")
        )

    @property
    def n_clean(self) -> int:
        return sum(df.height for df in self.clean.values())

    @property
    def n_quarantined(self) -> int:
        return 0 if self.quarantine is None else self.quarantine.height

    @property
    def balanced(self) -> bool:
        return self.read == self.n_clean + self.n_quarantined + self.duplicates


QUARANTINE_SCHEMA = {
    "source": pl.Utf8,
    "contract": pl.Utf8,
    "partition": pl.Utf8,
    "file": pl.Utf8,
    "line": pl.Int64,
    "record_id": pl.Utf8,
    "reasons": pl.List(pl.Utf8),
    "raw": pl.Utf8,
}


def _quarantine_rows(df: pl.DataFrame, contract: str | None, id_col: str | None) -> pl.DataFrame:
    return df.select(
        pl.col("_source").alias("source"),
        pl.lit(contract, dtype=pl.Utf8).alias("contract"),
        pl.col("_partition").alias("partition"),
        pl.col("_file").alias("file"),
        pl.col("_line").alias("line"),
        (pl.col(id_col) if id_col and id_col in df.columns else pl.lit(None, dtype=pl.Utf8)).alias("record_id"),
        pl.col(REASONS).alias("reasons"),
        pl.col("_raw").alias("raw"),
    )


def clean_schema(c: Contract) -> dict[str, pl.DataType]:
    """The clean table's schema, derived from the contract (used by checks and the catalog)."""
    py = {
        "datetime": pl.Datetime("us"),
        "integer": pl.Int64,
        "number": pl.Float64,
        "longitude": pl.Float64,
        "latitude": pl.Float64,
        "address_list": pl.List(pl.Utf8),
    }
    schema: dict[str, pl.DataType] = {f.name: py.get(f.type, pl.Utf8) for f in c.all_fields}
    schema |= {
        "lon": pl.Float64,
        "lat": pl.Float64,
        "geocode_precision": pl.Utf8,
        "geometry": pl.Utf8,
        "geometry_type": pl.Utf8,
        "h3_cell": pl.Utf8,
        "arrondissement": pl.Utf8,
        "_partition": pl.Utf8,
        "_file": pl.Utf8,
        "_line": pl.Int64,
    }
    return schema


def _validate_contract(
    df: pl.DataFrame, c: Contract, area: geo.Area | None, h3_resolution: int, tz: str = LOCAL_TZ
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`df` carries the reasons found before (e.g. duplicate id); the contract's rules add theirs."""
    df = with_kinds(df, c.all_fields)
    # the dates parsed once, read by their rules and by the typed table
    dates = [f for f in c.all_fields if f.type == "datetime"]
    df = df.with_columns(typed(f, pl.col(f.header), c, tz).alias(PARSED + f.name) for f in dates)
    parsed = {f.name: pl.col(PARSED + f.name) for f in dates}
    rules = [r for f in c.all_fields for r in field_reasons(c, f, tz, parsed)]
    df = df.with_columns(
        pl.col(REASONS)
        .list.concat(pl.concat_list([r.alias(f"_r{i}") for i, r in enumerate(rules)]).list.drop_nulls())
        .alias(REASONS)
    )
    loc = locate(df, c, area)
    df = pl.concat([df, loc], how="horizontal").with_columns(
        pl.when(pl.col("_loc_reason").is_not_null())
        .then(pl.col(REASONS).list.concat(pl.concat_list(pl.col("_loc_reason"))))
        .otherwise(pl.col(REASONS))
        .list.unique(maintain_order=True)
        .alias(REASONS)
    )
    bad = df.filter(pl.col(REASONS).list.len() > 0)
    good = df.filter(pl.col(REASONS).list.len() == 0)
    good = geo.h3_cells(good, lon="_loc_lon", lat="_loc_lat", resolution=h3_resolution, out="_loc_h3_cell")
    zones = (
        np.full(good.height, ANYWHERE_ZONE, dtype=object)
        if area is None
        else area.zone_of(good.get_column("_loc_lon").to_numpy(), good.get_column("_loc_lat").to_numpy())
    )
    good = good.with_columns(pl.Series("_loc_arrondissement", zones.tolist(), dtype=pl.Utf8))
    schema = clean_schema(c)
    typed_cols = [
        (parsed[f.name] if f.name in parsed else typed(f, pl.col(f.header), c, tz)).cast(schema[f.name]).alias(f.name)
        for f in c.all_fields
    ]
    loc = set(LOCATED) | {"h3_cell", "arrondissement"}
    rest = [
        (pl.col(f"_loc_{k}") if k in loc else pl.col(k)).cast(v).alias(k)
        for k, v in schema.items()
        if k not in {f.name for f in c.all_fields}
    ]
    good = good.select(*typed_cols, *rest).sort("_partition", "_file", "_line")
    return good, _quarantine_rows(bad, c.name, c.field(c.id_field).header)


def validate(
    raw: pl.DataFrame,
    contracts: list[Contract],
    area: geo.Area | None = None,
    h3_resolution: int = geo.H3_RESOLUTION,
    timezone: str = LOCAL_TZ,
    anywhere: bool = False,
) -> Outcome:
    """Validate a batch of raw records of one source against its contract(s).

    `area`: the study area (default Marseille); `anywhere`: no boundary (`TRANQUILLITE_AREA=donnees`),
    a location is only checked to be a valid WGS84 position. `timezone`: the area's local time."""
    area = None if anywhere else (area or geo.marseille())
    source = contracts[0].source
    read = raw.height
    read_by_partition = dict(raw.group_by("_partition").len().iter_rows()) if read else {}
    raw = raw.with_columns(pl.lit([], dtype=pl.List(pl.Utf8)).alias(REASONS))
    # 1. records that could not even be read
    unreadable = raw.filter(pl.col("_parse_error").is_not_null()).with_columns(
        pl.concat_list(pl.col("_parse_error")).alias(REASONS)
    )
    raw = raw.filter(pl.col("_parse_error").is_null())
    # 2. exact duplicates (an export repeated): counted, not kept twice
    before = raw.height
    raw_before = raw
    content = pl.coalesce("_digest", "_raw") if "_digest" in raw.columns else pl.col("_raw")
    raw = (
        raw.with_columns(content.alias("_content"))
        .sort("_partition", "_file", "_line")
        .unique(subset=["_partition", "_content"], keep="first", maintain_order=True)
        .drop("_content")
    )
    duplicates = before - raw.height
    after = dict(raw.group_by("_partition").len().iter_rows()) if raw.height else {}
    before_by = dict(raw_before.group_by("_partition").len().iter_rows()) if before else {}
    duplicates_by_partition = {k: v - after.get(k, 0) for k, v in before_by.items() if v - after.get(k, 0)}
    # 3. same id, different content: the first occurrence wins, the others are quarantined
    id_field = contracts[0].field(contracts[0].id_field)
    key = ["_partition", id_field.header] + (["version"] if "version" in raw.columns and contracts[0].envelope else [])
    raw = raw.with_columns(
        pl.when(pl.col(id_field.header).is_not_null() & (pl.int_range(pl.len()).over(key) > 0))
        .then(pl.concat_list(pl.lit(f"identifiant_duplique:{id_field.name}")))
        .otherwise(pl.col(REASONS))
        .alias(REASONS)
    )
    quarantined = [_quarantine_rows(unreadable, None, id_field.header)]
    clean: dict[str, pl.DataFrame] = {}
    if len(contracts) == 1:
        groups = {contracts[0].name: raw}
    else:  # Préfecture: dispatch on the entry type
        by_type = {c.record_type: c for c in contracts}
        unknown = raw.filter(~pl.col("type").is_in(list(by_type)) | pl.col("type").is_null())
        quarantined.append(
            _quarantine_rows(
                unknown.with_columns(
                    pl.col(REASONS).list.concat(pl.concat_list(pl.lit("type_entree_inconnu:type"))).alias(REASONS)
                ),
                None,
                id_field.header,
            )
        )
        groups = {c.name: raw.filter(pl.col("type") == c.record_type) for c in contracts}
    by_name = {c.name: c for c in contracts}
    for name, part in groups.items():
        good, bad = _validate_contract(part, by_name[name], area, h3_resolution, timezone)
        clean[name] = good
        quarantined.append(bad)
    q = pl.concat([x.cast(QUARANTINE_SCHEMA) for x in quarantined]).sort("partition", "file", "line")
    return Outcome(
        source=source,
        read=read,
        duplicates=duplicates,
        clean=clean,
        quarantine=q,
        read_by_partition=read_by_partition,
        duplicates_by_partition=duplicates_by_partition,
    )


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0]
