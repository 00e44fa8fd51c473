"""Asset-level lineage: each asset's conventions, derived through the asset graph.

A **source** asset declares where its records come from — a landing source (`K.source_tags`) or a
data contract (`K.contract_tags`), whose YAML names the convention, or the platform's reference
data (`K.reference_tags`: the City's). Every other asset carries the **union of the conventions of
what it reads** (its dependencies in the Dagster graph), restricted, for an asset whose rows keep
only some conventions, to those (`K.keeps_only`, proved by the asset's blocking check). The
result is the set of conventions whose data an asset *may* hold; which rows actually hold them is
each row's `conventions` list (see `tranquillite.lineage`).

`with_conventions(assets)` is applied once, when the code location is assembled
(`definitions.build_defs`): it sets the derived `convention/<code>` tags, shows the conventions in
each asset's description and definition metadata, and refuses (`ConventionError`, at load time)
an asset whose hand-typed convention tags disagree with the derivation, or a root asset that does
not say where its data come from. `disagreements(defs)` checks any assembled `Definitions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence, Union

import dagster as dg

from tranquillite.assets import constants as K
from tranquillite.contracts import contracts_for_source, load_contracts, load_conventions

CONVENTIONS_SECTION = "\n\nConventions des données : "  # the derived part of every description
AssetLike = Union[dg.AssetsDefinition, dg.AssetSpec]


class ConventionError(ValueError):
    """Convention tags that disagree with the asset graph, or a root asset with no declared source."""


@dataclass(frozen=True)
class Node:
    parents: tuple[dg.AssetKey, ...]
    tags: Mapping[str, str]
    metadata: Mapping[str, object]


def conventions_of_tags(tags: Mapping[str, str] | None) -> set[str]:
    return {k[len(K.CONVENTION_TAG_PREFIX) :] for k in (tags or {}) if k.startswith(K.CONVENTION_TAG_PREFIX)}


def _kept(metadata: Mapping[str, object]) -> set[str] | None:
    v = metadata.get(K.KEEP_METADATA)
    if v is None:
        return None
    v = getattr(v, "value", v)  # a MetadataValue once inside Definitions
    return set(v)


def declared_conventions(tags: Mapping[str, str] | None) -> set[str] | None:
    """The conventions a source asset declares (None: a derived asset)."""
    tags = tags or {}
    if K.CONTRACT_TAG in tags:
        name = tags[K.CONTRACT_TAG]
        if name not in load_contracts():
            raise ConventionError(f"contrat inconnu « {name} » (data_contracts/{name}.yaml absent)")
        return {load_contracts()[name].convention}
    if K.SOURCE_TAG in tags:
        contracts = contracts_for_source(tags[K.SOURCE_TAG])
        if not contracts:
            raise ConventionError(f"source inconnue « {tags[K.SOURCE_TAG]} »: aucun contrat ne la décrit")
        return {c.convention for c in contracts}
    if K.REFERENCE_TAG in tags:
        return {K.REFERENCE_CONVENTION}
    return None


def derive(nodes: Mapping[dg.AssetKey, Node]) -> dict[dg.AssetKey, frozenset[str]]:
    """Conventions of every asset: declared for sources, the union of the parents' otherwise."""
    out: dict[dg.AssetKey, frozenset[str]] = {}
    errors: list[str] = []

    def visit(key: dg.AssetKey, path: tuple) -> frozenset[str]:
        if key in out:
            return out[key]
        if key in path:
            raise ConventionError(f"cycle dans le graphe des assets: {key.to_user_string()}")
        node = nodes[key]
        declared = declared_conventions(node.tags)
        if declared is not None:
            conv = frozenset(declared)
        else:
            missing = [p for p in node.parents if p not in nodes]
            if missing:
                errors.append(
                    f"{key.to_user_string()}: dépend d'assets inconnus {[m.to_user_string() for m in missing]}"
                )
            parents = [visit(p, path + (key,)) for p in node.parents if p in nodes]
            if not parents:
                errors.append(
                    f"{key.to_user_string()}: asset racine sans source déclarée (contrat, source "
                    "d'atterrissage ou donnée de référence: K.contract_tags, K.source_tags, K.reference_tags)"
                )
            conv = frozenset().union(*parents)
            kept = _kept(node.metadata)
            if kept is not None:
                conv = conv & kept
        out[key] = conv
        return conv

    for k in nodes:
        visit(k, ())
    if errors:
        raise ConventionError("Conventions non dérivables: " + "; ".join(sorted(set(errors))))
    return out


def _spec_nodes(assets: Iterable[AssetLike]) -> dict[dg.AssetKey, Node]:
    nodes: dict[dg.AssetKey, Node] = {}
    for a in assets:
        for spec in a.specs if isinstance(a, dg.AssetsDefinition) else [a]:
            nodes[spec.key] = Node(
                tuple(d.asset_key for d in spec.deps), dict(spec.tags or {}), dict(spec.metadata or {})
            )
    return nodes


def graph_nodes(defs: dg.Definitions) -> dict[dg.AssetKey, Node]:
    graph = defs.resolve_asset_graph()
    return {
        k: Node(tuple(sorted(graph.get(k).parent_keys)), dict(graph.get(k).tags), dict(graph.get(k).metadata))
        for k in graph.get_all_asset_keys()
    }


def _mismatches(nodes: Mapping[dg.AssetKey, Node], derived: Mapping[dg.AssetKey, frozenset[str]]) -> list[str]:
    out = []
    for key, node in sorted(nodes.items(), key=lambda kv: kv[0].to_user_string()):
        typed = conventions_of_tags(node.tags)
        if typed and typed != set(derived[key]):
            out.append(f"{key.to_user_string()}: étiquettes {sorted(typed)} ≠ dérivation {sorted(derived[key])}")
    return out


def disagreements(defs: dg.Definitions) -> list[str]:
    """Every asset whose `convention/*` tags are missing or differ from the derivation (empty: all agree)."""
    nodes = graph_nodes(defs)
    derived = derive(nodes)
    out = _mismatches(nodes, derived)
    out += [
        f"{k.to_user_string()}: aucune étiquette de convention (dérivation {sorted(derived[k])})"
        for k, n in sorted(nodes.items(), key=lambda kv: kv[0].to_user_string())
        if not conventions_of_tags(n.tags)
    ]
    return out


def describe(conventions: Iterable[str]) -> str:
    titles = load_conventions()
    return ", ".join(f"`{c}` ({titles.get(c, {}).get('title', c)})" for c in sorted(conventions))


def _provenance(spec: dg.AssetSpec) -> str:
    tags, kept = spec.tags or {}, _kept(spec.metadata or {})
    if K.CONTRACT_TAG in tags:
        return f" (déclarées par le contrat `data_contracts/{tags[K.CONTRACT_TAG]}.yaml`)"
    if K.SOURCE_TAG in tags:
        return f" (déclarées par les contrats de la source « {tags[K.SOURCE_TAG]} »)"
    if K.REFERENCE_TAG in tags:
        return " (donnée de référence de la plateforme)"
    if kept is not None:
        return f" (dérivées de ce que l'asset lit, restreintes à {sorted(kept)} par son contrôle bloquant)"
    return " (dérivées du graphe: l'union des conventions de ce que l'asset lit)"


def _with(spec: dg.AssetSpec, conventions: frozenset[str]) -> dg.AssetSpec:
    base = (spec.description or "").split(CONVENTIONS_SECTION)[0]
    metadata = {"conventions": sorted(conventions)}
    return spec.merge_attributes(tags=K.convention_tags(conventions), metadata=metadata).replace_attributes(
        description=base + CONVENTIONS_SECTION + describe(conventions) + _provenance(spec) + "."
    )


def with_conventions(assets: Sequence[AssetLike]) -> list[AssetLike]:
    """The assets with their derived convention tags, description and metadata (see the module)."""
    nodes = _spec_nodes(assets)
    derived = derive(nodes)
    bad = _mismatches(nodes, derived)
    if bad:
        raise ConventionError("Étiquettes de convention contraires au graphe des assets: " + "; ".join(bad))
    out: list[AssetLike] = []
    for a in assets:
        if isinstance(a, dg.AssetsDefinition):
            out.append(a.map_asset_specs(lambda s: _with(s, derived[s.key])))
        else:
            out.append(_with(a, derived[a.key]))
    return out


def conventions_by_asset(defs: dg.Definitions) -> dict[dg.AssetKey, frozenset[str]]:
    """The derived conventions of every asset of an assembled code location."""
    return derive(graph_nodes(defs))


__all__ = [
    "ConventionError",
    "conventions_by_asset",
    "conventions_of_tags",
    "declared_conventions",
    "derive",
    "describe",
    "disagreements",
    "with_conventions",
    "KEEP_METADATA",
]
KEEP_METADATA = K.KEEP_METADATA
