"""The SQL fragments a page hands to the gateway, checked before they reach DuckDB.

`queries.scoped_query` builds `SELECT <select> FROM <published table> WHERE (<scope>) AND (<where>)
GROUP BY … ORDER BY …`. The table and the scope are the gateway's; the fragments come from the
pages' constants, and this module makes sure that even a crafted fragment cannot read anything
else (issue #10: `select="(SELECT count(*) FROM raw.cortege)"` returned the Préfecture's raw rows).
Each fragment is parsed with sqlglot (DuckDB dialect) and accepted only if

* it is one expression list of ONE statement: no `;`, no comment, parentheses balanced inside the
  fragment (so `1 = 1) OR (1 = 1` cannot close the scope's parenthesis);
* every node is a column of THIS table (unqualified) or an alias of the select list, a literal,
  a parameter, an operator, `CASE`, `CAST`, `DISTINCT`, `FILTER (WHERE …)` — or a function of
  the allow-lists below (aggregates and a few scalar functions). Subqueries, table functions
  (`read_csv`, `glob`, `query`…), settings and environment functions are refused.

What is refused raises `Forbidden` (French message); nothing is executed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

# aggregates the select list may use (sqlglot expression classes)
AGGREGATES = frozenset(
    {
        "Count",
        "Sum",
        "Min",
        "Max",
        "Avg",
        "Median",
        "Mode",
        "Stddev",
        "StddevSamp",
        "StddevPop",
        "Variance",
        "VariancePop",
        "AnyValue",
        "ApproxDistinct",
        "CountIf",
        "ArgMax",
        "ArgMin",
        "Quantile",
        "ApproxQuantile",
        "PercentileCont",
        "PercentileDisc",
        "ArrayAgg",
        "BoolAnd",
        "BoolOr",
        "LogicalAnd",
        "LogicalOr",
    }
)
# scalar functions (dates, text, numbers, lists) — none reads a file, a setting or another table
SCALARS = frozenset(
    {
        "ArrayToString",
        "RegexpLike",  # text of a list, a regular expression bound as a parameter
        "TimeToStr",
        "TimestampTrunc",
        "DateTrunc",
        "Coalesce",
        "Round",
        "Abs",
        "Floor",
        "Ceil",
        "Greatest",
        "Least",
        "Extract",
        "Year",
        "Month",
        "Day",
        "Hour",
        "Minute",
        "DayOfWeek",
        "DayOfWeekIso",
        "DayOfYear",
        "Week",
        "Lower",
        "Upper",
        "Length",
        "Concat",
        "Substring",
        "StrPosition",
        "ArrayContains",
        "ArrayContainsAll",
        "ArrayOverlaps",
        "ArraySize",
        "ArrayLength",
        "Nullif",
        "If",
        "Sign",
        "Ln",
        "Log",
        "Exp",
        "Sqrt",
        "Pow",
        "DateDiff",
        "TimestampDiff",
        "Date",
        "DateAdd",
        "DateSub",
        "TsOrDsToDate",
        "StrToTime",
        "Trim",
    }
)
# DuckDB functions sqlglot does not model (Anonymous nodes), by lower-case name
ANONYMOUS = frozenset(
    {
        "list_contains",
        "list_has_all",
        "list_has_any",
        "len",
        "list_count",
        "to_hours",
        "to_minutes",
        "date_part",
        "hour",
        "minute",
        "isodow",
        "dayofweek",
        "epoch",
        "mode",
        "strftime",
        "date_trunc",
        "h3_cell_to_parent",
    }
)
STRUCTURE = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Star,
    exp.Alias,
    exp.Paren,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.Case,
    exp.Cast,
    exp.DataType,
    exp.Distinct,
    exp.Filter,
    exp.Where,
    exp.Ordered,
    exp.Placeholder,
    exp.Interval,
    exp.Var,
    exp.Array,
    exp.Tuple,
    exp.Bracket,
    exp.DPipe,
    exp.IntDiv,
    exp.TryCast,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.DataTypeParam,
    exp.Group,
)


_STRUCTURE_TYPES = frozenset(STRUCTURE)


class FragmentError(ValueError):
    """A fragment that is not an allowed expression list (French message)."""


def _balanced(fragment: str) -> None:
    try:
        tokens = sqlglot.tokenize(fragment, read="duckdb")
    except SqlglotError as exc:
        raise FragmentError(f"fragment SQL illisible: {exc}") from None
    depth = 0
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            raise FragmentError("fragment SQL refusé: une seule expression, pas de « ; »")
        if t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
            if depth < 0:
                raise FragmentError("fragment SQL refusé: parenthèse fermante sans ouvrante")
        if t.comments:
            raise FragmentError("fragment SQL refusé: pas de commentaire")
    if depth:
        raise FragmentError("fragment SQL refusé: parenthèses non équilibrées")


def _parse(sql: str) -> exp.Select:
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except SqlglotError as exc:
        raise FragmentError(f"fragment SQL illisible: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise FragmentError("fragment SQL refusé: une seule sélection")
    return statements[0]


def _check_tree(
    node: exp.Expression, columns: frozenset[str], aliases: frozenset[str], where: str, aggregates: bool
) -> None:
    for n in node.walk():
        if isinstance(n, exp.Column):
            if n.table or n.args.get("db") or n.args.get("catalog"):
                raise FragmentError(f"{where}: colonne qualifiée refusée ({n.sql('duckdb')})")
            name = n.name
            if not isinstance(n.this, exp.Star) and name not in columns and name not in aliases:
                raise FragmentError(f"{where}: colonne inconnue de la table: {name}")
        elif isinstance(n, exp.Anonymous):
            if n.name.lower() not in ANONYMOUS:
                raise FragmentError(f"{where}: fonction non autorisée: {n.name}")
        elif type(n) in _STRUCTURE_TYPES:
            continue
        elif isinstance(n, exp.Func):
            name = type(n).__name__
            if name in AGGREGATES:
                if not aggregates:
                    raise FragmentError(f"{where}: agrégat non autorisé ici: {name}")
            elif name not in SCALARS:
                raise FragmentError(f"{where}: fonction non autorisée: {n.sql('duckdb')[:60]}")
        elif not isinstance(n, STRUCTURE):
            raise FragmentError(f"{where}: expression non autorisée ({type(n).__name__})")


def _neutral_params(fragment: str) -> str:
    """Parameters become NULL for the parse only (sqlglot cannot type `?::VARCHAR[]`)."""
    return fragment.replace("?", "NULL")


@lru_cache(maxsize=4096)
def _check(select: str, where: str | None, group_by: str | None, order_by: str | None, columns: frozenset[str]) -> None:
    for name, fragment in (("select", select), ("where", where), ("group_by", group_by), ("order_by", order_by)):
        if fragment is not None:
            if not fragment.strip():
                raise FragmentError(f"{name}: fragment vide")
            _balanced(fragment)
    tree = _parse(f"SELECT {select} FROM __t")
    extra = set(tree.args) - {"expressions", "from_", "from", "distinct", "kind"}
    if any(tree.args.get(k) for k in extra):
        raise FragmentError("select: seule une liste de colonnes et d'agrégats est acceptée")
    src = tree.args.get("from_") or tree.args.get("from")
    if (
        src is None
        or not isinstance(src.this, exp.Table)
        or src.this.name != "__t"
        or src.this.args.get("db")
        or tree.args.get("joins")
    ):
        raise FragmentError("select: seule une liste de colonnes et d'agrégats est acceptée")
    aliases = frozenset(e.alias for e in tree.expressions if isinstance(e, exp.Alias))
    for e in tree.expressions:
        _check_tree(e, columns, frozenset(), "select", aggregates=True)
    if where is not None:
        w = _parse(f"SELECT 1 FROM __t WHERE ({_neutral_params(where)})")
        _check_tree(w.args["where"].this, columns, frozenset(), "where", aggregates=False)
    if group_by is not None:
        g = _parse(f"SELECT 1 FROM __t GROUP BY {_neutral_params(group_by)}")
        _check_tree(g.args["group"], columns, aliases, "group_by", aggregates=False)
    if order_by is not None:
        o = _parse(f"SELECT 1 FROM __t ORDER BY {_neutral_params(order_by)}")
        for e in o.args["order"].expressions:
            _check_tree(e, columns, aliases, "order_by", aggregates=True)


@lru_cache(maxsize=4096)
def select_shape(select: str) -> str:
    """ "aggregate" (the select list aggregates: one row per group), "distinct" (SELECT DISTINCT …) or
    "rows" — for the gateway, which reads the returned rows' conventions in the same query (issue 14).
    Call after `check_fragments`."""
    tree = _parse(f"SELECT {_neutral_params(select)} FROM __t")
    if tree.args.get("distinct"):
        return "distinct"
    return "aggregate" if any(isinstance(n, exp.AggFunc) for n in tree.walk()) else "rows"


def check_fragments(
    columns: Iterable[str],
    select: str,
    where: str | None = None,
    group_by: str | None = None,
    order_by: str | None = None,
) -> None:
    """Raise `FragmentError` unless every fragment is an allowed expression over these columns."""
    _check(select, where, group_by, order_by, frozenset(columns))
