"""The indicator catalogue: validation, access rules (C5), generic materialisation with trends,
a new indicator by YAML only, the public release with small-count suppression."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal
import pytest
import yaml

from tranquillite.indicators import catalogue as C
from tranquillite.indicators.config import PROFILE_CODES, CatalogueError, default_catalogue_path, load_catalogue


def _yaml() -> dict:
    return yaml.safe_load(default_catalogue_path().read_text(encoding="utf-8"))


def _write(tmp_path: Path, d: dict) -> Path:
    p = tmp_path / "indicators.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_the_catalogue_is_valid_and_complete():
    cat = load_catalogue()
    ids = {i.id for i in cat.indicators}
    assert {
        "faits_par_categorie",
        "part_faits_zones_tension",
        "charge_evenements_prevus",
        "frequentation_attendue",
        "concurrence_evenements_prevus",
        "taux_alertes_videoprotection",
        "signalements_par_categorie",
        "precision_prevision",
        "completude_source",
        "fraicheur_source",
        "taux_rejet_source",
    } <= ids
    for i in cat.indicators:
        assert i.name and i.definition and i.formula and i.unit and i.owner.startswith("team:")
        assert set(i.profiles) <= set(PROFILE_CODES) and i.sources
    assert set(cat.profiles) == set(PROFILE_CODES)
    assert cat.public_release.threshold == 11
    # nothing derived from the Préfecture's data is public (C5)
    for i in cat.indicators:
        if set(i.sources) & {
            "manifestation_deambulatoire",
            "manifestation_statique",
            "operation_programmee",
            "visite_officielle",
        }:
            assert not {"public", "partenaire"} & set(i.profiles), i.id


def test_categories_cover_every_subcategory_of_the_fact_contracts():
    from tranquillite.contracts import load_contracts

    cat = load_catalogue()
    contracts = load_contracts()
    rows = [
        (s, v)
        for s in ("interventions", "alertes_videoprotection", "signalements")
        for v in contracts[s].field("categorie").values
    ]
    df = pl.DataFrame(rows, schema=["source", "subcategory"], orient="row")
    got = df.with_columns(cat.category_expr().alias("c"))
    assert got.filter(pl.col("c") == "autres").height == 0
    assert got["c"].n_unique() == 12


def test_a_public_indicator_on_prefecture_data_is_refused(tmp_path):
    d = _yaml()
    ind = next(i for i in d["indicators"] if i["id"] == "charge_evenements_prevus")
    ind["profiles"] = [*ind["profiles"], "public"]
    with pytest.raises(CatalogueError, match="prefecture_police_13"):
        load_catalogue(_write(tmp_path, d))


@pytest.mark.parametrize(
    "value",
    ["count(*) FROM read_csv('/etc/passwd')", "count(*); DROP TABLE faits", "(SELECT count(*) FROM glob('/etc/*'))"],
)
def test_sql_that_is_not_an_aggregate_is_refused(tmp_path, value):
    d = _yaml()
    d["indicators"][0]["value"] = value
    with pytest.raises(CatalogueError, match="SQL"):
        load_catalogue(_write(tmp_path, d))


def _facts() -> pl.DataFrame:
    """Hand-made `faits`: weeks 2025-W02 and W03, and 2024-W03 (a year before)."""
    rows = []

    def add(t, cat, arr, n, source="interventions"):
        for k in range(n):
            rows.append(
                {
                    "event_id": f"{source}:{t:%Y%m%d}-{cat}-{arr}-{k}",
                    "source": source,
                    "categorie": cat,
                    "sous_categorie": "x",
                    "t": t + timedelta(minutes=k),
                    "heure": t.hour,
                    "arrondissement": arr,
                    "quartier": arr + "01",
                    "cellule": "c" + arr,
                    "en_zone_tension": k % 2 == 0,
                    "convention": "internal",
                }
            )

    add(datetime(2024, 1, 15, 10), "vols", "13201", 10)  # 2024-W03
    add(datetime(2025, 1, 6, 10), "vols", "13201", 20)  # 2025-W02 (Monday)
    add(datetime(2025, 1, 7, 23), "violences", "13201", 4)
    add(datetime(2025, 1, 13, 10), "vols", "13201", 30)  # 2025-W03
    add(datetime(2025, 1, 14, 10), "vols", "13202", 5)
    add(datetime(2025, 1, 15, 2), "stupefiants", "13202", 3)  # new category in W03
    add(datetime(2025, 1, 19, 22), "vols", "13201", 1, source="alertes_videoprotection")
    return pl.DataFrame(rows).with_columns(pl.col("t").cast(pl.Datetime("us")))


def _value(v: pl.DataFrame, **kw) -> dict:
    f = v
    for k, x in kw.items():
        f = f.filter(pl.col(k) == x)
    assert f.height == 1, kw
    return f.row(0, named=True)


def test_generic_materialisation_counts_breaks_down_and_trends():
    cat = load_catalogue()
    v, skipped = C.materialise(
        cat,
        {"faits": _facts()},
        only=["faits_par_categorie", "part_faits_zones_tension", "taux_alertes_videoprotection"],
    )
    assert skipped == {}
    w3 = dict(indicator_id="faits_par_categorie", area_level="ville", period_level="semaine", period="2025-W03")
    tot = _value(v, **w3, dimension="toutes")
    assert tot["value"] == 39 and tot["n"] == 39 and tot["area"] == "Marseille"
    assert tot["value_prev"] == 24 and tot["evolution_prev_pct"] == pytest.approx(100 * 15 / 24)
    assert tot["value_ly"] == 10 and tot["evolution_ly_pct"] == pytest.approx(290.0)
    assert tot["complete"] and tot["conventions"] == ["internal"]
    vols = _value(v, **w3, dimension="vols")
    assert vols["value"] == 36 and vols["value_prev"] == 20
    stup = _value(v, **w3, dimension="stupefiants")
    assert stup["value_prev"] == 0 and stup["evolution_prev_pct"] is None  # absent the week before: 0
    assert _value(v, **{**w3, "area_level": "arrondissement"}, area="13202", dimension="toutes")["value"] == 8
    assert _value(v, **{**w3, "area_level": "cellule"}, area="c13201", dimension="vols")["value"] == 31
    day = _value(
        v,
        indicator_id="faits_par_categorie",
        area_level="quartier",
        area="1320101",
        period_level="jour",
        period="2025-01-13",
        dimension="vols",
    )
    assert day["value"] == 30 and day["value_prev"] == 0  # nothing on Sunday 12th, within the data
    month = _value(
        v,
        indicator_id="faits_par_categorie",
        area_level="ville",
        period_level="mois",
        period="2025-01",
        dimension="toutes",
    )
    assert month["value"] == 63 and month["value_prev"] == 0 and month["value_ly"] == 10
    first = _value(
        v,
        indicator_id="faits_par_categorie",
        area_level="ville",
        period_level="semaine",
        period="2024-W03",
        dimension="toutes",
    )
    assert first["value_prev"] is None  # 2024-W02 is before the data start: unknown, not 0
    share = _value(
        v, indicator_id="part_faits_zones_tension", area_level="ville", period_level="semaine", period="2025-W03"
    )
    assert share["value"] == pytest.approx(100 * (15 + 3 + 2 + 1) / 39)  # k = 0, 2, 4… of each batch
    rate = _value(
        v, indicator_id="taux_alertes_videoprotection", area_level="ville", period_level="semaine", period="2025-W03"
    )
    assert rate["value"] == pytest.approx(1 / 7)  # alerts per day
    assert set(v["indicator_id"]) == {"faits_par_categorie", "part_faits_zones_tension", "taux_alertes_videoprotection"}


def test_missing_relations_are_reported_not_fatal():
    cat = load_catalogue()
    v, skipped = C.materialise(cat, {"faits": _facts(), "backtest": None})
    assert "precision_prevision" in skipped and "relation" in skipped["precision_prevision"]
    assert "fraicheur_source" in skipped and v.height > 0
    table = C.catalogue_table(cat, skipped)
    assert table.filter(pl.col("indicator_id") == "precision_prevision")["status"][0].startswith("non calculé")


def test_a_new_indicator_needs_only_a_yaml_entry(tmp_path):
    d = _yaml()
    d["indicators"].append(
        {
            "id": "faits_nocturnes",
            "name": "Faits nocturnes",
            "definition": "Faits constatés entre 22 h et 6 h.",
            "formula": "nombre de faits dont l'heure de début est ≥ 22 h ou < 6 h",
            "unit": "faits",
            "sources": ["interventions", "alertes_videoprotection", "signalements"],
            "relation": "faits",
            "value": "count(*)",
            "filter": "heure >= 22 OR heure < 6",
            "granularity": {"areas": ["ville", "arrondissement"], "periods": ["semaine"]},
            "trends": True,
            "zero_if_absent": True,
            "owner": "team:dgsec-police-municipale",
            "profiles": ["analyste", "public"],
        }
    )
    cat = load_catalogue(_write(tmp_path, d))
    v, _ = C.materialise(cat, {"faits": _facts()}, only=["faits_nocturnes"])
    w2 = _value(v, indicator_id="faits_nocturnes", area_level="ville", period="2025-W02")
    w3 = _value(v, indicator_id="faits_nocturnes", area_level="ville", period="2025-W03")
    assert (w2["value"], w3["value"], w3["value_prev"]) == (4, 4, 4)
    assert (
        _value(v, indicator_id="faits_nocturnes", area_level="arrondissement", area="13202", period="2025-W03")["value"]
        == 3
    )


def test_the_sql_session_cannot_read_files():
    cat = load_catalogue()
    bad = dataclasses.replace(
        cat.indicator("faits_par_categorie"),
        value="(SELECT count(*) FROM read_text('/etc/hostname'))",
        areas=("ville",),
        periods=("mois",),
    )
    cat2 = dataclasses.replace(cat, indicators=(bad,))
    with pytest.raises(ValueError, match="(?i)permission|disabled"):
        C.materialise(cat2, {"faits": _facts()})


def _values_for_release() -> pl.DataFrame:
    base = dict(
        indicator_id="faits_par_categorie",
        period_level="mois",
        period="2025-01",
        period_start=datetime(2025, 1, 1).date(),
        period_end=datetime(2025, 2, 1).date(),
        complete=True,
        conventions=["internal"],
        value_prev=None,
        n_prev=None,
        evolution_prev_pct=None,
        value_ly=None,
        n_ly=None,
        evolution_ly_pct=None,
        coverage_start=datetime(2025, 1, 1).date(),
        coverage_end=datetime(2025, 2, 1).date(),
    )
    rows = [
        {**base, "area_level": "ville", "area": "Marseille", "dimension": "toutes", "value": 95.0, "n": 95},
        {**base, "area_level": "arrondissement", "area": "13201", "dimension": "toutes", "value": 50.0, "n": 50},
        {**base, "area_level": "arrondissement", "area": "13202", "dimension": "toutes", "value": 5.0, "n": 5},
        {
            **base,
            "area_level": "arrondissement",
            "area": "13203",
            "dimension": "toutes",
            "value": 40.0,
            "n": 40,
            "value_prev": 8.0,
            "n_prev": 8,
            "evolution_prev_pct": 400.0,
        },
        {**base, "area_level": "quartier", "area": "1320101", "dimension": "toutes", "value": 30.0, "n": 30},
        {
            **base,
            "indicator_id": "charge_evenements_prevus",
            "area_level": "ville",
            "area": "Marseille",
            "dimension": "toutes",
            "value": 120.0,
            "n": 120,
        },
    ]
    return pl.DataFrame(rows).cast({k: v for k, v in C.VALUES_SCHEMA.items()})


def test_public_release_masks_small_counts_and_their_complement():
    pub = C.public_values(_values_for_release(), load_catalogue())
    assert set(pub["indicator_id"]) == {"faits_par_categorie"}  # Préfecture-derived: never public
    assert set(pub["area_level"]) == {"ville", "arrondissement"}  # no quartier in public
    r = {row["area"]: row for row in pub.iter_rows(named=True)}
    assert r["13202"]["value"] is None and r["13202"]["suppressed"] == "primaire"
    assert r["13202"]["value_display"] == "<11"
    # 95 − 50 − 40 would reveal 5: the smallest other arrondissement is masked too
    assert r["13203"]["value"] is None and r["13203"]["suppressed"] == "secondaire"
    assert r["13203"]["value_display"] == "secret" and r["13203"]["evolution_prev_pct"] is None
    assert r["13201"]["value"] == 50 and r["Marseille"]["value"] == 95 and r["13201"]["suppressed"] is None


def test_the_public_release_reads_only_the_rows_it_may_publish():
    """`public_rows`: values_public reads those rows alone; the release is the same as from the whole table."""
    cat = load_catalogue()
    v = _values_for_release()
    public = v.with_columns(pl.lit("signalements_par_categorie").alias("indicator_id"))  # another public one
    for table in (v, public, pl.concat([v, public])):
        read = table.filter(C.public_rows(cat))
        assert read.height < table.height  # no quartier, no indicator the public profile does not see
        assert_frame_equal(C.public_values(read, cat), C.public_values(table, cat))
    assert C.public_values(v.filter(C.public_rows(cat)), cat).height == 4  # the city and 3 arrondissements


def test_public_trends_are_masked_when_the_reference_is_small():
    v = _values_for_release().with_columns(
        pl.when(pl.col("area") == "13201").then(pl.lit(9, pl.Int64)).otherwise(pl.col("n_prev")).alias("n_prev"),
        pl.when(pl.col("area") == "13201").then(pl.lit(9.0)).otherwise(pl.col("value_prev")).alias("value_prev"),
    )
    pub = C.public_values(v, load_catalogue())
    r = pub.filter(pl.col("area") == "13201").row(0, named=True)
    assert r["value"] == 50 and r["value_prev"] is None and r["evolution_prev_pct"] is None


def _sorted(v: pl.DataFrame) -> pl.DataFrame:
    keys = ["indicator_id", "area_level", "area", "period_level", "period_start", "dimension"]
    return v.select(sorted(v.columns)).sort(keys, nulls_last=True)


def _incremental_run(cat, facts, previous):
    """One run; `previous`: the last run's (document, values before trends, published values)."""
    prev, old_values = (previous[:2], previous[2]) if previous is not None else (None, None)
    vals, skipped, doc, keep, done = C.materialise_incremental(cat, {"faits": facts}, lambda: prev, lambda: old_values)
    return vals, skipped, (doc, keep, vals), done


def test_incremental_values_equal_a_full_recompute_day_after_day():
    """The daily cycle recomputes only the periods whose rows changed: after new days, a late file
    for an old day, a changed row and a removed day, every table equals the full recompute."""
    cat = load_catalogue()
    facts = _facts()
    v0, s0, state, done = _incremental_run(cat, facts, None)
    assert done["mode"] == "complet"
    full0, fs0 = C.materialise(cat, {"faits": facts})
    assert s0 == fs0 and _sorted(v0).equals(_sorted(full0))

    same, _, state, done = _incremental_run(cat, facts, state)
    assert done["mode"] == "incrémental" and done["lignes_recalculees"] == 0
    assert _sorted(same).equals(_sorted(full0))

    new_day = facts.filter(pl.col("t").dt.date() == datetime(2025, 1, 19).date()).with_columns(
        pl.col("t") + timedelta(days=1), pl.col("event_id") + "-j20"
    )  # a new day (Monday W04)
    late = facts.head(2).with_columns(pl.col("t") + timedelta(days=2), pl.col("event_id") + "-tard")  # old day
    changed = pl.concat([facts, new_day, late]).with_columns(
        pl.when(pl.col("event_id").str.ends_with("-13202-0"))
        .then(pl.lit("violences"))
        .otherwise(pl.col("categorie"))
        .alias("categorie")
    )  # a row edited
    removed = changed.filter(pl.col("t").dt.date() != datetime(2025, 1, 7).date())  # a day removed
    purged = removed.filter(~pl.col("event_id").str.ends_with("-13202-0"))  # rows purged
    steps = (
        pl.concat([facts, new_day]),
        changed,
        removed,
        purged,
        purged.filter(pl.col("t") >= datetime(2025, 1, 1)),
    )  # history cut
    for k, step in enumerate(steps):
        got, skipped, state, done = _incremental_run(cat, step, state)
        want, want_skipped = C.materialise(cat, {"faits": step})
        assert done["mode"] == "incrémental"
        assert 0 < done["lignes_recalculees"] < want.height  # some periods kept, not all
        if k < len(steps) - 1:  # the trends of the periods (and references) a change touches only
            assert 0 < done["tendances_recalculees"] < want.height, done
        else:  # the first day moved: every trend (the zero of an unobserved reference)
            assert "tendances_recalculees" not in done
        assert skipped == want_skipped
        assert got.equals(want), done  # row for row, in the published order


def test_an_incremental_state_made_otherwise_is_not_trusted():
    cat = load_catalogue()
    facts = _facts()
    _, _, (doc, keep, _), _ = _incremental_run(cat, facts, None)
    # another set of relations than the state's: recomputed whole
    got, *_, done = C.materialise_incremental(cat, {"faits": facts, "signalements": None}, lambda: (doc, keep))
    assert done["mode"] == "incrémental"  # a relation with no rows has no digest: same set
    doc2 = {**doc, "digests": {**doc["digests"], "autre": {}}}
    *_, done = C.materialise_incremental(cat, {"faits": facts}, lambda: (doc2, keep))
    assert done["mode"] == "complet" and done["motif"] == "relations différentes"


def test_a_published_values_table_changed_behind_the_state_is_not_trusted_for_the_trends():
    """The trends kept between runs come from the published table only when it has the rows the
    state recorded (a destruction purges rows): otherwise every trend is computed again."""
    cat = load_catalogue()
    facts = _facts()
    _, _, (doc, keep, vals), _ = _incremental_run(cat, facts, None)
    step = pl.concat(
        [
            facts,
            facts.filter(pl.col("t").dt.date() == datetime(2025, 1, 19).date()).with_columns(
                pl.col("t") + timedelta(days=1), pl.col("event_id") + "-j20"
            ),
        ]
    )
    want, _ = C.materialise(cat, {"faits": step})
    for published in (vals.head(vals.height - 1), vals.drop("value_ly"), None):
        got, *_, done = C.materialise_incremental(cat, {"faits": step}, lambda: (doc, keep), lambda p=published: p)
        assert done["mode"] == "incrémental" and "tendances_recalculees" not in done
        assert got.equals(want)
    got, *_, done = C.materialise_incremental(cat, {"faits": step}, lambda: (doc, keep), lambda: vals)
    assert done["tendances_recalculees"] < want.height and got.equals(want)


def test_the_last_runs_tables_are_read_only_when_they_serve():
    """The published values (millions of rows over eight years) are read only when the state is
    trusted: not on a first or full run, nor when the state was made otherwise."""
    cat = load_catalogue()
    facts = _facts()
    reads = []

    def published():
        reads.append(1)
        return vals

    vals, _, doc, keep, done = C.materialise_incremental(cat, {"faits": facts}, lambda: None, published)
    assert done["mode"] == "complet" and reads == []
    doc2 = {**doc, "digests": {**doc["digests"], "autre": {}}}
    *_, done = C.materialise_incremental(cat, {"faits": facts}, lambda: (doc2, keep), published)
    assert done["mode"] == "complet" and reads == []
    *_, done = C.materialise_incremental(cat, {"faits": facts}, lambda: (doc, keep), published)
    assert done["mode"] == "incrémental" and reads == [1]


def _two_years_of_facts() -> pl.DataFrame:
    """A few facts a day over 2024–2025 in three districts (seeded): every period has a previous one
    and, from 2025 on, one a year before."""
    import numpy as np

    rng = np.random.default_rng(7)
    rows = []
    for d in range(731):
        day = datetime(2024, 1, 1, 8) + timedelta(days=d)
        for arr in ("13201", "13202", "13203"):
            for k in range(int(rng.poisson(1.5))):
                cat = ("vols", "violences", "stupefiants")[int(rng.integers(3))]
                rows.append(
                    {
                        "event_id": f"interventions:{d}-{arr}-{k}",
                        "source": "interventions",
                        "categorie": cat,
                        "sous_categorie": "x",
                        "t": day + timedelta(hours=int(rng.integers(14))),
                        "heure": 8,
                        "arrondissement": arr,
                        "quartier": arr + "01",
                        "cellule": "c" + arr,
                        "en_zone_tension": bool(k % 2),
                        "convention": "internal",
                    }
                )
    return pl.DataFrame(rows).with_columns(pl.col("t").cast(pl.Datetime("us")))


def test_large_chunks_computed_a_slice_of_periods_at_a_time_give_the_same_table(monkeypatch):
    """Eight years of cells × days are one chunk of 2.6 M rows: its trends are joined a slice of periods
    at a time (each slice with the year before it) so the step's memory does not grow with the
    history. Sliced or not, the table is the same, row for row and in the same order."""
    cat = load_catalogue()
    facts = _two_years_of_facts()
    whole, _ = C.materialise(cat, {"faits": facts}, only=["faits_par_categorie"])
    calls = []
    trends = C._trends
    monkeypatch.setattr(C, "_trends", lambda out, *a: calls.append(out.height) or trends(out, *a))
    monkeypatch.setattr(C, "SLICE_ROWS", 200)
    sliced, _ = C.materialise(cat, {"faits": facts}, only=["faits_par_categorie"])
    chunks = whole.select("area_level", "period_level").unique().height
    assert len(calls) > 2 * chunks and max(calls) <= 250  # sliced: several joins per chunk, each ~ the limit
    assert sliced.height == whole.height > 5000
    assert whole.filter(pl.col("value_ly").is_not_null() & (pl.col("period_level") == "jour")).height > 1000
    assert_frame_equal(sliced, whole)
