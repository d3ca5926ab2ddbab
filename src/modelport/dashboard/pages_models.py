"""Models: the searchable list, and one model's versions, lineage, signature, card and aliases.

Moving an alias calls :meth:`Registry.set_alias` and appends the same ``alias.move`` audit row
as ``modelport models alias``, with the logged-in principal as the actor.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from modelport.errors import InvalidInput
from modelport.registry import ModelSummary, VersionInfo
from modelport.registry.records import AliasMove
from modelport.security.roles import Principal, Role

from .markdown import render_card
from .web import HEADERS, ConsoleContext, page

__all__ = ["routes"]

_CONVERTED = ("converted_from", "converted-from", "source_version")


def routes(ctx: ConsoleContext) -> list[Route]:
    async def index(request: Request, me: Principal, form: dict[str, str]) -> Response:
        registry = ctx.require_registry()
        query = request.query_params.get("q", "").strip()
        models = await asyncio.to_thread(registry.list_models)
        visible = [m for m in models if me.models is None or m.name in me.models]
        found = [m for m in visible if _matches(m, query)] if query else visible
        return ctx.render(request, me, "models.html", models=found, query=query,
                          total=len(visible))

    async def model(request: Request, me: Principal, form: dict[str, str]) -> Response:
        registry = ctx.require_registry()
        name = request.path_params["name"]
        summary, versions, history = await asyncio.to_thread(_model_data, registry, name)
        chosen = _chosen(versions, request.query_params.get("version"))
        return ctx.render(
            request, me, "model.html", model=summary, versions=list(reversed(versions)),
            chosen=chosen, card=render_card(chosen.card) if chosen and chosen.card else None,
            history=list(reversed(history))[:50], lineage=_lineage(chosen),
        )

    async def move_alias(request: Request, me: Principal, form: dict[str, str]) -> Response:
        registry = ctx.require_registry()
        name = request.path_params["name"]
        alias = form.get("alias", "").strip()
        raw = form.get("version", "").strip()
        if not raw.isdigit():
            raise InvalidInput(f"choose a version number for the alias, got {raw!r}")
        move: AliasMove = await asyncio.to_thread(
            registry.set_alias, name, alias, int(raw), actor=me.id)
        await ctx.audit("alias.move", me.id, f"{name}@{alias}",
                        {"from": move.from_version, "to": move.to_version})
        return RedirectResponse(f"/ui/models/{quote(name, safe='')}?version={move.to_version}", 303,
                                headers=HEADERS)

    return [
        Route("/ui/models", page(ctx, Role.VIEWER, index, action="list models")),
        Route("/ui/models/{name}", page(ctx, Role.VIEWER, model, action="read model metadata",
                                        model_param="name")),
        Route("/ui/models/{name}/alias",
              page(ctx, Role.DEPLOYER, move_alias, action="move aliases", model_param="name"),
              methods=["POST"]),
    ]


def _matches(model: ModelSummary, query: str) -> bool:
    q = query.lower()
    return (q in model.name.lower() or q in (model.description or "").lower()
            or any(q in a.lower() for a in model.aliases))


def _model_data(registry: Any, name: str
                ) -> tuple[ModelSummary, list[VersionInfo], list[AliasMove]]:
    return registry.get_model(name), registry.list_versions(name), registry.alias_history(name)


def _chosen(versions: list[VersionInfo], wanted: str | None) -> VersionInfo | None:
    if not versions:
        return None
    if wanted:
        if not wanted.isdigit():
            raise InvalidInput(f"version must be a whole number, got {wanted!r}")
        for info in versions:
            if info.version == int(wanted):
                return info
        raise InvalidInput(f"there is no version {wanted}; versions are "
                           + ", ".join(str(v.version) for v in versions))
    return versions[-1]


def _lineage(info: VersionInfo | None) -> list[tuple[str, Any]]:
    if info is None:
        return []
    lin = info.lineage
    rows: list[tuple[str, Any]] = [
        ("training data", lin.training_data_uri), ("data sha256", lin.training_data_sha256),
        ("code revision", lin.code_revision), ("parent version", lin.parent_version),
        ("reference data", lin.reference_uri), ("artifact", info.artifact_uri),
        ("artifact sha256", info.artifact_sha256),
    ]
    rows += [("converted from", info.tags[k]) for k in _CONVERTED if k in info.tags]
    return rows
