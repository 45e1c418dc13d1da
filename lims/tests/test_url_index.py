"""The indexed URL resolver (lims/url_index.py) must resolve every path as Django's own walk does."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern

from lims.url_index import IndexedResolver, indexed, literal_prefix, regex_prefix

#: values for the arguments of the routes (the first that makes the route match is used)
SAMPLES = ["7", "json", "abc", "a-b", "cells", "3f1c2d4e-0000-4000-8000-000000000000", "x/y"]


def plain(entry: Any) -> Any:
    """The same URL conf with Django's resolver everywhere."""
    if isinstance(entry, URLResolver):
        return URLResolver(
            entry.pattern,
            [plain(child) for child in entry.url_patterns],
            entry.default_kwargs,
            entry.app_name,
            entry.namespace,
        )
    return entry


def _reversible(resolver: URLResolver, prefix: str = "") -> list[str]:
    """A path for every route and parameter combination the URL conf can reverse (namespaced ones too)."""
    paths = []
    for key in list(resolver.reverse_dict):
        for possibilities, _pattern, _defaults, _converters in resolver.reverse_dict.getlist(key):
            for text, params in possibilities:
                for sample in SAMPLES:
                    values = {name: ("json" if name == "format" else sample) for name in params}
                    paths.append("/" + prefix + text % values)
    for _namespace, (ns_prefix, sub) in resolver.namespace_dict.items():
        paths.extend(_reversible(sub, prefix + ns_prefix))
    return sorted(set(paths))


def _variants(path: str) -> set[str]:
    out = {
        path,
        path.rstrip("/"),
        path + "x",
        path + "x/",
        path + ".json",
        path.rstrip("/") + ".json",
        path.upper(),
        path + "/",
    }
    out.update(path[:i] for i in range(len(path)))  # every prefix
    return out


def _match(resolver: URLResolver, path: str) -> tuple[Any, ...]:
    try:
        m = resolver.resolve(path)
    except Resolver404 as e:
        tried = e.args[0].get("tried")
        return ("404", [[str(p.pattern) for p in t] for t in tried] if tried else None, e.args[0].get("path"))
    return (
        m.func,
        m.args,
        m.kwargs,
        m.url_name,
        m.app_names,
        m.namespaces,
        m.route,
        m.captured_kwargs,  # type: ignore[attr-defined]
        m.extra_kwargs,  # type: ignore[attr-defined]
        m.view_name,
    )


def test_every_path_resolves_as_django_resolves_it() -> None:
    indexed_root = get_resolver()
    django_root = plain(indexed_root)
    assert any(isinstance(e, IndexedResolver) for e in indexed_root.url_patterns)
    assert not any(isinstance(e, IndexedResolver) for e in django_root.url_patterns)
    paths = _reversible(django_root)
    assert len(paths) > 300  # pages, the API's routes with their format suffixes, the admin
    checked = matched = 0
    for path in sorted({v for p in paths for v in _variants(p)}):
        expected = _match(django_root, path)
        assert _match(indexed_root, path) == expected, path
        checked += 1
        matched += expected[0] != "404"
    assert checked > 5000 and matched > 300


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/uploads/300000/",
        "/cells/99993/",
        "/derived/",
        "/api/v1/lots/",
        "/api/v1/cells/5/",
        "/inventory/lots/7/",
    ],
)
def test_a_path_tries_only_the_routes_that_can_match_it(path: str) -> None:
    indexed_match = get_resolver().resolve(path)
    django_match = plain(get_resolver()).resolve(path)
    assert indexed_match.func is django_match.func
    assert len(indexed_match.tried or ()) <= 8 < len(django_match.tried or ())


def test_a_path_that_matches_nothing_lists_every_route_tried_as_django_does() -> None:
    with pytest.raises(Resolver404) as indexed_miss:
        get_resolver().resolve("/api/v1/no-such-thing/")
    with pytest.raises(Resolver404) as django_miss:
        plain(get_resolver()).resolve("/api/v1/no-such-thing/")
    assert len(indexed_miss.value.args[0]["tried"]) == len(django_miss.value.args[0]["tried"]) > 100


@pytest.mark.parametrize(
    ("regex", "prefix"),
    [
        (r"^lots/$", "lots/"),
        (r"^lots\.(?P<format>[a-z0-9]+)/?$", "lots."),
        (r"^lots/(?P<pk>[^/.]+)/adjust/$", "lots/"),
        (r"^lots/?$", "lots"),  # the slash is optional
        (r"^lot*s/$", "lo"),
        (r"^lots+/$", "lots"),  # at least one s
        (r"^lo{1,2}ts/$", "l"),
        (r"^a|^b", ""),  # an alternation: nothing is known
        (r"^(?i)lots/$", ""),
        (r"lots/$", ""),  # not anchored
        (r"^\d+/$", ""),
        (r"^[a-z]+/$", ""),
        (r"^.*$", ""),
        (r"^", ""),
    ],
)
def test_the_literal_prefix_of_a_regular_expression(regex: str, prefix: str) -> None:
    assert regex_prefix(regex) == prefix


def test_the_literal_prefix_of_a_route() -> None:
    assert literal_prefix(RoutePattern("cells/<int:pk>/state/")) == "cells/"
    assert literal_prefix(RoutePattern("<int:pk>/")) == ""
    assert literal_prefix(RoutePattern("health/")) == "health/"
    assert literal_prefix(RegexPattern(r"^admin/")) == "admin/"


def test_namespaced_includes_keep_their_namespace() -> None:
    resolver = indexed("", "cells.urls")
    assert resolver.namespace == resolver.app_name == "cells"
    match = get_resolver().resolve("/cells/7/")
    assert match.view_name == "cells:cell-detail" and match.kwargs == {"pk": 7}


def test_a_route_that_only_a_later_include_matches_is_found() -> None:
    # two includes without a prefix, the second holding the route: the first is not tried at all
    first = [URLPattern(RoutePattern("a/", name="a", is_endpoint=True), lambda r: None, name="a")]
    second = [URLPattern(RoutePattern("b/<int:n>/", name="b", is_endpoint=True), lambda r: None, name="b")]
    root = URLResolver(
        RegexPattern(r"^/"),
        [indexed("", [URLResolver(RoutePattern(""), first), URLResolver(RoutePattern(""), second)])],
    )
    match = root.resolve("/b/3/")
    assert match.url_name == "b" and match.kwargs == {"n": 3}
    with pytest.raises(Resolver404):
        root.resolve("/c/")
