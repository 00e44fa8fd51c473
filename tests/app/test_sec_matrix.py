"""The whole matrix (issue #10): every principal × every table of the catalog through the gateway, and
every principal × every page through the pages themselves — 0 unauthorised reads.

The oracle is written apart from the gateway, in Polars over an unrestricted copy of each table:
what a scope may see, row by row (conventions, sources, own entries, aggregate-only profiles,
derived tables). A read is unauthorised when the gateway returns a row — or a count — the oracle
does not allow. The counts are printed (`-s`) for the closing note of the issue.
"""

from __future__ import annotations

import json
import sys

import duckdb
import polars as pl
import pytest

from tests.app.helpers import ALL_PAGES, REPO, path_head
from tranquillite.app_core import carte, habilitations, queries, store
from tranquillite.app_core.rights import load_principal, public_principal, sources_of_conventions
from tranquillite.contracts import load_contracts, load_conventions
from tranquillite.indicators.config import load_catalogue
from tranquillite.resources.warehouse import open_catalog

ORACLE_PUBLISHED = {
    "clean.events",
    "governance.data_quality",
    "governance.quarantine_reasons",
    "models.forecast",
    "models.backtest",
    "models.backtest_scores",
    "governance.convention_lineage",
    "models.audit_boucle",
    "models.audit_boucle_zones",
    "models.backtest_public",
}
AGGREGATE_TABLES = {
    "clean.events",
    "indicators.values_public",
    "models.audit_boucle",
    "models.audit_boucle_zones",
    "models.backtest_public",
}
ID_COLUMNS = ("source", "convention", "record_id")
RESULTS: dict[str, int] = {}


def _published(table: str) -> bool:
    return table in ORACLE_PUBLISHED or table.startswith("indicators.")


def _principals(con) -> dict[str, object]:
    gest = load_principal(con, "demo.habilitations")
    habilitations.create_user(
        con,
        gest,
        login="csu.superviseur",
        display_name="Superviseur CSU",
        email=None,
        profile="encadrement_pm",
        organisation="ville_dgsec",
        activity_nature="supervision_videoprotection",
        password="une phrase de passe solide",
    )
    own = "T-PP-2025-000002-0"  # a Préfecture record of the catalog, entered by demo.cortege
    from tests.factories import VALID_CORTEGE

    rel = f"cortege/2025-03-08/{own}_v1.json"
    path = store.store_path().parent.parent / "landing" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**VALID_CORTEGE["manifestation_statique"], "id": own}), encoding="utf-8")
    with store.transaction(con):
        con.execute(
            "INSERT INTO cortege_entries VALUES (?, 1, 'manifestation_statique', 'demo.cortege', ?, ?, 'x')",
            (own, store.iso(store.now_utc()), rel),
        )
    logins = [
        "demo.admin",
        "demo.habilitations",
        "demo.encadrement",
        "demo.analyste",
        "demo.dpo",
        "demo.cortege",
        "demo.prefecture",
        "demo.partenaire",
        "csu.superviseur",
    ]
    out = {"public": public_principal(con)}
    out.update({lg: load_principal(con, lg) for lg in logins})
    return out


def _complete(conventions, sources) -> set[str]:
    return {c for c in conventions if set(sources_of_conventions((c,))) <= set(sources)}


def _landing(sources) -> set[str]:
    contracts = load_contracts()
    return {contracts[s].source for s in sources if s in contracts}


def oracle_mask(df: pl.DataFrame, table: str, scope, level: str, profile: str) -> pl.Series:
    """Row by row, what this scope may see — the rules of the issue, written apart from the gateway."""
    sources = set(scope.row_sources if level == "rows" else scope.aggregate_sources)
    convs = set(scope.conventions)
    cols = set(df.columns)
    ok = [True] * df.height

    def both(flags):
        return [a and bool(b) for a, b in zip(ok, flags)]

    def inside(col, allowed):
        return [v is not None and v in allowed for v in df[col].to_list()]

    if scope.own_entries is not None:
        ok = both(inside("record_id", set(scope.own_entries)) if "record_id" in cols else [False] * df.height)
    if "indicator_id" in cols and "value" in cols:  # an indicator's values: the profiles its catalogue entry names
        allowed_ids = {i.id for i in load_catalogue().indicators if profile in i.profiles}
        ok = both(inside("indicator_id", allowed_ids))
    if "conventions" in cols:
        allowed = convs if "source" in cols else _complete(convs, sources)
        ok = both([bool(v) and all(x is not None and x in allowed for x in v) for v in df["conventions"].to_list()])
    if "convention" in cols:
        ok = both(inside("convention", convs))
    elif "conventions" not in cols:
        needed = set(load_conventions()) if table.startswith("models.") else {"internal"}
        ok = both([needed <= convs] * df.height)
    if "variant" in cols and "variant_conventions" in cols:  # forecast sets: one per origin, never both (#11)
        allowed = convs if "source" in cols else _complete(convs, sources)
        origins = df["origin"].to_list() if "origin" in cols else [None] * df.height
        seen_all = [
            bool(vc) and all(x is not None and x in allowed for x in vc) for vc in df["variant_conventions"].to_list()
        ]
        full_sets = {o for o, v, a in zip(origins, df["variant"].to_list(), seen_all) if v == "complete" and a}
        ok = both(
            [
                (v == "complete" and a) or (v == "internal" and o not in full_sets)
                for o, v, a in zip(origins, df["variant"].to_list(), seen_all)
            ]
        )
    if "source" in cols:
        ok = both(inside("source", _landing(sources) if table.startswith("governance.") else sources))
    elif not sources:
        ok = [False] * df.height
    return pl.Series(ok, dtype=pl.Boolean)


def _full(raw: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    schema, name = table.split(".")
    return pl.from_arrow(raw.sql(f'SELECT * FROM "{schema}"."{name}"').to_arrow_table())


def _may_read_table(p, table: str, level: str) -> bool:
    s = p.scope
    if not _published(table):
        return False
    if s.aggregated_only and (table not in AGGREGATE_TABLES or (level == "rows" and not s.row_sources)):
        return False
    return True


@pytest.fixture
def world(app_home, con):
    principals = _principals(con)
    cat = queries.Catalog.open()
    raw = open_catalog(app_home / "warehouse" / "catalog.duckdb")  # relative views: resolved in its folder
    tables = sorted(
        r[0] for r in raw.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    )
    yield principals, cat, raw, tables
    cat.close()
    raw.close()


def test_every_principal_every_table_through_the_gateway(world):
    principals, cat, raw, tables = world
    tables = tables + ["indicators.absente", "raw.cortege; SELECT 1", "main.sqlite_master"]
    attempted = unauthorised = refused = 0
    for table in tables:
        full = _full(raw, table) if table in cat.tables() else None
        for name, p in principals.items():
            for level in ("rows", "aggregate"):
                attempted += 1
                try:
                    got = queries.scoped_query(
                        cat, p.scope, table, select="*" if level == "rows" else "count(*) AS n", level=level
                    )
                except queries.Forbidden:
                    refused += 1
                    continue
                except queries.NotAvailable:
                    assert table not in cat.tables()
                    continue
                allowed = _may_read_table(p, table, level)
                if not allowed:
                    unauthorised += 1
                    print("UNAUTHORISED table", name, table, level)
                    continue
                visible = full.filter(oracle_mask(full, table, p.scope, level, p.profile))
                if level == "aggregate":
                    n = got["n"][0]
                    if n is not None and n > visible.height:
                        unauthorised += 1
                        print("UNAUTHORISED count", name, table, n, visible.height)
                    assert n is None or n == visible.height, (name, table)  # nor hidden from who may see
                    continue
                keys = [c for c in ID_COLUMNS if c in got.columns]
                extra = got.height - visible.height
                if keys:
                    seen = set(visible.select(keys).unique().iter_rows())
                    extra = max(extra, sum(1 for r in got.select(keys).iter_rows() if r not in seen))
                if extra > 0:
                    unauthorised += extra
                    print("UNAUTHORISED rows", name, table, extra)
                assert got.height == visible.height, (name, table, got.height, visible.height)
    RESULTS.update(
        gateway_principals=len(principals),
        gateway_tables=len(tables),
        gateway_reads=attempted,
        gateway_refused=refused,
        gateway_unauthorised=unauthorised,
    )
    print(
        f"\nPASSERELLE: {len(principals)} principaux × {len(tables)} tables × 2 niveaux = {attempted} lectures, "
        f"{refused} refusées, {unauthorised} non autorisées"
    )
    assert unauthorised == 0


PAGE_SCRIPT = """
{head}
import streamlit as st
from tranquillite.app_core import store
from tranquillite.app_core.rights import load_principal, public_principal
with store.connect() as con:
    st.session_state["tq_principal"] = public_principal(con) if {login!r} == "public" else load_principal(con, {login!r})
exec(open({view!r}).read())
"""


@pytest.mark.slow
def test_every_principal_every_page_through_the_pages(world, monkeypatch):
    principals, cat, raw, tables = world
    from streamlit.testing.v1 import AppTest

    full = {t: _full(raw, t) for t in tables if _published(t)}
    calls: list[tuple[str, str, str, pl.DataFrame]] = []
    current = {"name": None}
    real = queries.scoped_query

    def watching(c, scope, table, **kw):
        df = real(c, scope, table, **kw)
        calls.append((current["name"], table, kw.get("level", "rows"), df, scope))
        return df

    with store.connect() as c:
        public = public_principal(c)

    monkeypatch.setattr(queries, "scoped_query", watching)
    monkeypatch.setattr(carte, "scoped_query", watching)
    attempted = unauthorised = opened = refused = 0
    path_before = list(sys.path)
    for name, p in principals.items():
        login = "public" if name == "public" else p.login
        for page in ALL_PAGES:
            current["name"] = name
            before = len(calls)
            script = PAGE_SCRIPT.format(
                head=path_head(), login=login, view=str(REPO / "apps" / "streamlit" / "views" / f"{page}.py")
            )
            at = AppTest.from_string(script, default_timeout=60).run()
            assert not at.exception, (name, page, at.exception)
            made = calls[before:]
            if page in p.pages:
                opened += 1
                assert not any("n'est pas ouverte" in e.value for e in at.error), (name, page)
            else:
                refused += 1
                assert [e.value for e in at.error] == ["Cette page n'est pas ouverte à votre profil."], (name, page)
                assert not made, (name, page, [m[1] for m in made])  # refused before any read
            for _, table, level, df, scope in made:
                attempted += 1
                # a page reads with its principal's scope — or the public's (the public page, same for all)
                who = public if scope == public.scope else p
                if scope != who.scope:
                    unauthorised += 1
                    print("UNAUTHORISED scope", name, page, table)
                    continue
                if not _may_read_table(who, table, level):
                    unauthorised += 1
                    print("UNAUTHORISED page read", name, page, table)
                    continue
                keys = [c for c in ID_COLUMNS if c in df.columns]
                if keys and table in full:
                    visible = full[table].filter(oracle_mask(full[table], table, who.scope, level, who.profile))
                    seen = set(visible.select(keys).unique().iter_rows())
                    bad = sum(1 for r in df.select(keys).iter_rows() if r not in seen)
                    if bad:
                        unauthorised += bad
                        print("UNAUTHORISED page rows", name, page, table, bad)
    assert len(sys.path) <= len(path_before) + 2, "each page run must not grow sys.path"
    RESULTS.update(
        page_principals=len(principals),
        pages=len(ALL_PAGES),
        page_runs=len(principals) * len(ALL_PAGES),
        page_opened=opened,
        page_refused=refused,
        page_reads=attempted,
        page_unauthorised=unauthorised,
    )
    print(
        f"\nPAGES: {len(principals)} principaux × {len(ALL_PAGES)} pages = {len(principals) * len(ALL_PAGES)} "
        f"exécutions ({opened} ouvertes, {refused} refusées), {attempted} lectures, {unauthorised} non autorisées"
    )
    assert unauthorised == 0 and attempted > 0
