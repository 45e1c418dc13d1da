"""URL resolution by the path's first segment instead of a walk over every route.

Django resolves a path by trying the URL conf's routes one after the other, descending into each include whose
prefix matches. The API's routes sit behind the pages', and each router adds four to six routes per resource, so an
upload's status (``/api/v1/uploads/<id>/``) tried 74 routes and their regular expressions first: 57 us of a 700 us
request, 14% of its processing time (docs/scaling.md, tenth pass).

``IndexedResolver`` is Django's ``URLResolver`` with ``resolve`` looking only at the routes that can match the
path: each route has a literal prefix (what every path it matches starts with: ``cells/`` of
``cells/<int:pk>/``, ``lots`` of ``^lots\\.(?P<format>[a-z0-9]+)/?$``, nothing of a route that starts with a
group), and a route is tried only where its prefix and the path's first segment (up to and including the first ``/``
or ``.``) are one a prefix of the other. The routes keep their order, so the first route that matches is Django's.
Includes without a prefix of their own, a namespace or extra arguments (``path("", include("cells.urls"))``,
a router's routes) are looked through: their routes are indexed in their place, which gives the same match.

What differs from Django: ``ResolverMatch.tried`` of a match lists the routes tried here, not every route before
it. A path that matches nothing is resolved once more by Django's own walk, so a 404 (and its debug page) lists
everything tried. Reversing (``reverse``, ``{% url %}``) is Django's. ``lims/tests/test_url_index.py`` resolves a
path of every route of the URL conf, with variants and every prefix of each, both ways and compares the matches.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, ResolverMatch, RoutePattern

#: characters a regular expression matches as themselves
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-~:=,;@!%&'\"<> ")
#: characters that make the one before them optional or repeated
_QUANTIFIERS = frozenset("?*{")
#: Django's resolver, for its static helpers (untyped)
_DJANGO: Any = URLResolver
#: the candidates of at most this many first segments are remembered (a scan of random paths grows no table)
_MAX_KEYS = 512


def regex_prefix(regex: str) -> str:
    """What every string a regular expression anchored with ``^`` matches starts with ("" when it is not
    anchored, starts with a group or a class, or has an alternation anywhere)."""
    if not regex.startswith("^") or "|" in regex:
        return ""
    out: list[str] = []
    i = 1
    while i < len(regex):
        char = regex[i]
        if char in _PLAIN:
            literal, width = char, 1
        elif char == "\\" and i + 1 < len(regex) and not regex[i + 1].isalnum():
            literal, width = regex[i + 1], 2  # \. \- \/
        else:
            break  # a group, a class, an anchor, any-character, \d...
        following = regex[i + width] if i + width < len(regex) else ""
        if following in _QUANTIFIERS:
            break  # optional or repeated: not part of every match
        out.append(literal)
        if following == "+":
            break  # at least once: this one is, what follows it is not known
        i += width
    return "".join(out)


def literal_prefix(pattern: Any) -> str:
    """The literal prefix of a route's pattern ("" when it cannot be told)."""
    if isinstance(pattern, RoutePattern):
        return str(pattern).split("<", 1)[0]  # the route
    if isinstance(pattern, RegexPattern):
        return regex_prefix(str(pattern))  # the regular expression
    return ""


def _segment(path: str) -> str:
    """The path up to and including its first ``/`` or ``.`` (the whole path when it has neither)."""
    for i, char in enumerate(path):
        if char == "/" or char == ".":
            return path[: i + 1]
    return path


def _unprefixed(entry: Any) -> bool:
    """An include without a prefix of its own (``path("", include(...))``)."""
    return isinstance(entry, URLResolver) and str(entry.pattern) in ("", "^")


def _transparent(entry: Any) -> bool:
    """An include that adds nothing to a match: no prefix, namespace, application name or extra arguments."""
    return _unprefixed(entry) and not entry.namespace and not entry.app_name and not entry.default_kwargs


def _flattened(patterns: Any) -> list[Any]:
    out: list[Any] = []
    for entry in patterns:
        if _transparent(entry):
            out.extend(_flattened(entry.url_patterns))
        else:
            out.append(entry)
    return out


def prefixes(entry: Any) -> frozenset[str]:
    """The literal prefixes of the paths a route or include can match: its own, or, for an include without a
    prefix (a namespaced app's ``path("", include("cells.urls"))``), those of its routes."""
    if _unprefixed(entry):
        return frozenset(p for child in entry.url_patterns for p in prefixes(child))
    return frozenset({literal_prefix(entry.pattern)})


class IndexedResolver(URLResolver):
    """``URLResolver`` whose ``resolve`` tries only the routes a path can match (see the module)."""

    def _index(self) -> tuple[list[tuple[frozenset[str], Any]], dict[str, list[Any]]]:
        index = self.__dict__.get("_lims_index")
        if index is None:
            routes = [(prefixes(entry), entry) for entry in _flattened(self.url_patterns)]
            index = self.__dict__["_lims_index"] = (routes, {})
        return index

    def _candidates(self, path: str) -> list[Any]:
        routes, by_key = self._index()
        key = _segment(path)
        found = by_key.get(key)
        if found is None:
            found = [
                entry
                for starts, entry in routes
                if any(prefix.startswith(key) or key.startswith(prefix) for prefix in starts)
            ]
            if len(by_key) < _MAX_KEYS:
                by_key[key] = found
        return found

    def resolve(self, path: Any) -> ResolverMatch:
        path = str(path)
        match = self.pattern.match(path)
        if not match:
            raise Resolver404({"path": path})
        new_path, args, kwargs = match
        tried: list[list[Any]] = []
        for pattern in self._candidates(new_path):
            try:
                sub_match = pattern.resolve(new_path)
            except Resolver404 as e:
                _DJANGO._extend_tried(tried, pattern, e.args[0].get("tried"))
                continue
            if not sub_match:
                tried.append([pattern])
                continue
            # as URLResolver.resolve builds its match
            sub_match_dict = {**kwargs, **self.default_kwargs}
            sub_match_dict.update(sub_match.kwargs)
            sub_match_args = sub_match.args
            if not sub_match_dict:
                sub_match_args = args + sub_match.args
            current_route = "" if isinstance(pattern, URLPattern) else str(pattern.pattern)
            _DJANGO._extend_tried(tried, pattern, sub_match.tried)
            return ResolverMatch(
                sub_match.func,
                sub_match_args,
                sub_match_dict,
                sub_match.url_name,
                [self.app_name, *sub_match.app_names],
                [self.namespace, *sub_match.namespaces],
                _DJANGO._join_route(current_route, sub_match.route),
                tried,
                captured_kwargs=sub_match.captured_kwargs,
                extra_kwargs={**self.default_kwargs, **sub_match.extra_kwargs},
            )
        return super().resolve(path)  # no match: Django's walk, for the 404 and everything it tried


def indexed(route: str, patterns: Any) -> IndexedResolver:
    """``path(route, include(patterns))``, resolved through the index: ``patterns`` a list of routes (no
    namespace) or the dotted name of a URL conf (namespaced by its ``app_name``, as ``include`` does)."""
    app_name = None
    if isinstance(patterns, str):
        app_name = getattr(import_module(patterns), "app_name", None)
    return IndexedResolver(
        RoutePattern(route, is_endpoint=False), patterns, app_name=app_name, namespace=app_name
    )
