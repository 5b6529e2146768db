"""Reads for list imports, scoped: the imports and layouts a user may see, and the city's places for routing."""

from __future__ import annotations

from django.db.models import QuerySet

from fangkong.core.models import Division, DivisionLevel, User
from fangkong.core.scope import get_scoped, scoped
from fangkong.screening.imports.routing import Place, Router
from fangkong.screening.models import ListImport, ListLayout


def imports_for(user: User) -> QuerySet[ListImport]:
    return scoped(ListImport.objects.select_related("job", "layout"), user)


def access_import(user: User, import_id: int) -> ListImport:
    return get_scoped(ListImport.objects.select_related("job", "layout"), user, pk=import_id)


def layouts_for(user: User) -> QuerySet[ListLayout]:
    return scoped(ListLayout.objects.all(), user).order_by("name")


def remembered_layout(division_path: str, name: str) -> ListLayout | None:
    """The layout saved under `name` by this jurisdiction or the one above it (a county uses the city's)."""
    candidates = ListLayout.objects.filter(name=name, division__path__in=_ancestors(division_path))
    return max(candidates, key=lambda layout: len(layout.division_id), default=None)


def _ancestors(path: str) -> list[str]:
    return [path[:length] for length in (2, 4, 6, 9, 12) if length <= len(path)]


def router_for(division_path: str) -> Router:
    """Routing within the city of the importing jurisdiction."""
    city = division_path[:4]
    places = Division.objects.filter(path__startswith=city, level__in=[DivisionLevel.COMMUNITY, DivisionLevel.COUNTY])
    communities: list[Place] = []
    counties: list[Place] = []
    for path, name, level in places.values_list("path", "name", "level"):
        (communities if level == DivisionLevel.COMMUNITY else counties).append(Place(path=path, name=name))
    return Router(city_path=city, communities=communities, counties=counties, home_path=division_path)
