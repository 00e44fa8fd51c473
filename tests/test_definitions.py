"""The whole code location, loaded as Dagster loads it: every asset's conventions are derived
through the asset graph (a source contract names its convention, a derived asset carries the
union of what it reads), a hand-typed convention tag that disagrees is refused at load time, and
the Dagster UI shows the conventions, readable column types and the contracts' French labels."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from tranquillite.assets import ALL_ASSETS
from tranquillite.assets import constants as K
from tranquillite.assets import conventions as CV
from tranquillite.assets.indicators import PUBLIC_KEY, TENSION_KEY
from tranquillite.assets.metadata import base_metadata, dtype_name, table_schema
from tranquillite.contracts import load_contracts
from tranquillite.definitions import build_defs

PREF, CITY = "prefecture_police_13", "internal"


def _tags(defs: dg.Definitions) -> dict[dg.AssetKey, set[str]]:
    graph = defs.resolve_asset_graph()
    return {k: CV.conventions_of_tags(graph.get(k).tags) for k in graph.get_all_asset_keys()}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_defs()


def test_the_definitions_load_and_every_asset_has_its_derived_conventions(defs):
    dg.Definitions.validate_loadable(defs)
    assert CV.disagreements(defs) == []
    tags = _tags(defs)
    assert all(tags.values()), [k.to_user_string() for k, v in tags.items() if not v]
    # sources: the contract's convention; derived: the union of what the asset reads
    assert tags[K.raw_key("cortege")] == {PREF}
    assert tags[K.clean_key("manifestation_statique")] == {PREF}
    assert tags[K.clean_key("interventions")] == {CITY}
    assert tags[K.EVENTS_KEY] == {CITY, PREF}
    assert tags[K.STUDY_GRID_KEY] == {CITY}  # the study area: the City's reference data
    assert tags[K.CELL_SLOT_KEY] == tags[K.FORECAST_KEY] == {CITY, PREF}
    assert tags[K.FORECAST_HISTORY_KEY] == {CITY, PREF}
    # the tables written as by-products are assets too; the forecast history is partitioned by origin day
    graph = defs.resolve_asset_graph()
    assert {dg.AssetKey(["indicators", "grid"]), dg.AssetKey(["indicators", "catalogue"])} <= set(tags)
    assert graph.get(K.FORECAST_HISTORY_KEY).partitions_def is not None
    assert tags[dg.AssetKey(["indicators", "catalogue"])] == {CITY}
    # the public restitution keeps the City's rows only (a filter enforced by its blocking check)
    assert tags[PUBLIC_KEY] == {CITY}
    # the derivation agrees with an independent walk of the graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.parent_keys and CV.KEEP_METADATA not in node.metadata and CV.declared_conventions(node.tags) is None:
            assert tags[key] == set().union(*(tags[p] for p in node.parent_keys)), key.to_user_string()


def test_no_derived_asset_carries_a_hand_typed_convention_tag():
    """Only the asset graph says which conventions a derived asset holds."""
    for a in ALL_ASSETS:
        for spec in a.specs if isinstance(a, dg.AssetsDefinition) else [a]:
            typed = CV.conventions_of_tags(spec.tags or {})
            assert not typed, f"{spec.key.to_user_string()}: étiquettes de convention tapées à la main {typed}"


def _retag(assets, key: dg.AssetKey, conventions: set[str]):
    out = []
    for a in assets:
        if isinstance(a, dg.AssetsDefinition) and key in a.keys:
            a = a.map_asset_specs(
                lambda s: (
                    s.replace_attributes(
                        tags={
                            **{k: v for k, v in s.tags.items() if not k.startswith("convention/")},
                            **K.convention_tags(conventions),
                        }
                    )
                    if s.key == key
                    else s
                )
            )
        out.append(a)
    return out


def test_a_hand_typed_convention_that_disagrees_is_refused_at_load_time(defs):
    # the tension index reads forecasts and Préfecture footprints: tagging it "internal" only is a lie
    lying = _retag(ALL_ASSETS, TENSION_KEY, {CITY})
    with pytest.raises(CV.ConventionError, match="indicators/tension"):
        CV.with_conventions(lying)
    # a tag that agrees with the derivation is accepted
    honest = _retag(ALL_ASSETS, TENSION_KEY, {CITY, PREF})
    assert CV.conventions_of_tags(
        dg.Definitions(assets=CV.with_conventions(honest), resources=defs.resources)
        .resolve_asset_graph()
        .get(TENSION_KEY)
        .tags
    ) == {CITY, PREF}
    # and the check finds a disagreement in any Definitions, e.g. one assembled without the derivation
    bare = dg.Definitions(assets=_retag(CV.with_conventions(ALL_ASSETS), TENSION_KEY, {CITY}), resources=defs.resources)
    assert [d.split(":")[0] for d in CV.disagreements(bare)] == ["indicators/tension"]


def test_a_root_asset_without_a_declared_source_is_refused():
    orphan = dg.AssetSpec(dg.AssetKey(["governance", "orpheline"]), group_name="governance")
    with pytest.raises(CV.ConventionError, match="orpheline"):
        CV.with_conventions([*ALL_ASSETS, orphan])


def test_descriptions_and_metadata_show_the_conventions(defs):
    graph = defs.resolve_asset_graph()
    node = graph.get(K.FORECAST_KEY)
    assert "prefecture_police_13" in node.description and "Conventions" in node.description
    assert set(node.metadata["conventions"]) == {CITY, PREF}
    grid = graph.get(K.STUDY_GRID_KEY)
    assert list(grid.metadata["conventions"]) == [CITY]


def test_column_schemas_use_readable_types_and_the_contracts_french_labels(defs):
    assert dtype_name(pl.Datetime("us")) == "datetime"
    assert dtype_name(pl.List(pl.Utf8)) == "list<string>"
    assert dtype_name(pl.Struct({"a": pl.Int32, "b": pl.List(pl.Float64)})) == "struct<a: int32, b: list<float64>>"
    assert dtype_name(pl.Date) == "date" and dtype_name(pl.Boolean) == "bool"
    graph = defs.resolve_asset_graph()
    schema = graph.get(K.clean_key("manifestation_statique")).metadata["dagster/column_schema"]
    cols = {c.name: c for c in schema.columns}
    c = load_contracts()["manifestation_statique"]
    assert cols["date_debut"].description == c.field("date_debut").label == "Date et heure de début"
    assert cols["date_debut"].type == "datetime"
    assert all("(" not in col.type for col in schema.columns), [col.type for col in schema.columns]
    # at run time too, with the platform's own columns described in French
    df = pl.DataFrame(
        {"h3_cell": ["89396"], "conventions": [[CITY]], "slot_start": [None]},
        schema={"h3_cell": pl.Utf8, "conventions": pl.List(pl.Utf8), "slot_start": pl.Datetime("us")},
    )
    ts = table_schema(dict(df.schema))
    assert {c.name: c.type for c in ts.columns} == {
        "h3_cell": "string",
        "conventions": "list<string>",
        "slot_start": "datetime",
    }
    assert all(c.description for c in ts.columns)


def test_materialisation_metadata_has_no_row_preview():
    df = pl.DataFrame({"objet": ["Rassemblement devant la Préfecture"], "conventions": [[PREF]]})
    meta = base_metadata(df, 0.1)
    assert "apercu" not in meta
    text = repr(meta)
    assert "Rassemblement" not in text
    # the conventions of the rows, counted (not shown)
    assert meta["lignes_par_convention"].value == {PREF: 1}


def test_a_daily_result_repeats_its_column_schema_only_when_the_table_is_not_the_declared_one(defs):
    """A range run's result is recorded once per day: the schema is on the definition, and a
    result carries one only when its columns or types differ (what was written stays visible)."""
    graph = defs.resolve_asset_graph()
    c = load_contracts()["manifestation_statique"]
    declared = graph.get(K.clean_key(c.name)).metadata["dagster/column_schema"]
    from tranquillite.validation import clean_schema

    same = pl.DataFrame(schema=clean_schema(c))
    assert "dagster/column_schema" not in base_metadata(same, 0.1, declared)
    assert base_metadata(same, 0.1, declared)["dagster/row_count"].value == 0
    extra = same.with_columns(pl.lit(None, dtype=pl.Utf8).alias("colonne_inattendue"))
    written = base_metadata(extra, 0.1, declared)["dagster/column_schema"]
    assert [col.name for col in written.columns][-1] == "colonne_inattendue"
    retyped = same.with_columns(pl.col(same.columns[0]).cast(pl.Int64))
    assert "dagster/column_schema" in base_metadata(retyped, 0.1, declared)
    assert "dagster/column_schema" in base_metadata(same, 0.1)  # no declared schema: always
    # every daily-partitioned asset of the graph declares its schema on its definition
    daily = [
        k
        for k in graph.materializable_asset_keys
        if graph.get(k).partitions_def is not None and k.path[0] in (K.RAW, K.CLEAN, K.QUARANTINE, K.GOVERNANCE)
    ]
    assert len(daily) >= 28, len(daily)
    assert [k for k in daily if "dagster/column_schema" not in graph.get(k).metadata] == []
