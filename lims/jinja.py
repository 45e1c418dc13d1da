"""The Jinja2 environment of the pages that are rendered most (docs/architecture.md: "The pages rendered most are
Jinja2 templates").

Django's template language interprets its node tree on every request (~3 ms for the cell page); Jinja2 compiles a
template once into Python. The pages written in Jinja2 live in ``templates/jinja2/`` and are rendered with
``render(..., using="jinja2")``; every other page stays a Django template. What they print must be what the
Django template printed, so the environment offers Django's own pieces:

- ``finalize`` prints a value as Django's ``{{ value }}`` does (local time, localized numbers; None as "None");
- the filters are Django's filters (``floatformat``, ``date`` in local time, ``yesno``, ``linebreaksbr``,
  ``urlencode``) and ``lims_ui``'s ``sig``;
- the globals are ``url()`` (``{% url %}``), ``static()``, ``widthratio()`` and the ``lims_ui`` tags that need the
  request (``can_audit(request)``, ``history_link(request, obj)``).

Escaping is markupsafe's: the same characters as Django's ``escape``, two of them written differently
(``'`` -> ``&#39;``, ``"`` -> ``&#34;``), which a browser reads the same.
"""

from __future__ import annotations

import datetime
import functools
import sys
from typing import Any

import jinja2
from django.conf import settings
from django.core.signals import setting_changed
from django.template import TemplateSyntaxError, defaultfilters
from django.template.backends import jinja2 as backend
from django.template.backends.utils import csrf_input, csrf_token_lazy
from django.templatetags.static import static as _static
from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in django-stubs
from markupsafe import Markup

from lims.api.rows import id_url, plain_url
from lims.presentation import minute_digits


def _finalize(value: Any) -> Any:
    """``{{ value }}`` as Django prints it (``render_value_in_context`` before escaping): in local time, localized,
    and anything that is not a text made a text first (so an object whose text is marked safe, a message of
    ``mark_safe()``, is not escaped, as in a Django template)."""
    kind = type(value)
    if kind is str or kind is Markup or kind is SafeString:
        return value
    if kind is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)  # what localize() writes for it
    if isinstance(value, datetime.datetime):
        value = template_localtime(value)
    value = localize(value)
    return value if isinstance(value, str) else str(value)


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url name arg ... %}``; a route without arguments, or of a record's key, is reversed once per process
    (``lims.api.rows.id_url``)."""
    if not kwargs:
        if not args:
            return plain_url(name)
        if len(args) == 1 and type(args[0]) is int:
            return id_url(name, args[0])
    return reverse(name, args=args or None, kwargs=kwargs or None)


def widthratio(value: Any, max_value: Any, max_width: int) -> str:
    """``{% widthratio value max_value max_width %}``, as Django's tag computes it."""
    try:
        return str(round(float(value) / float(max_value) * int(max_width)))
    except ZeroDivisionError:
        return "0"
    except (ValueError, TypeError, OverflowError):
        return ""


#: the format most pages print times in; written directly (Django's filter looks up the language's formats and
#: walks the format string on every call)
MINUTE = "Y-m-d H:i"


def date(value: Any, arg: str | None = None) -> str:
    """``{{ value|date:"Y-m-d H:i" }}``: in the current time zone, as Django's filter reads it."""
    if isinstance(value, datetime.datetime):
        value = template_localtime(value)
        if arg == MINUTE:
            return minute_digits(value)
    return str(defaultfilters.date(value, arg))


@functools.lru_cache(maxsize=256)
def static(path: str) -> str:
    """``{% static path %}`` (Django's), remembered per path: the storage's answer for a path is fixed while the
    process runs (a manifest storage reads its manifest once); forgotten when a setting changes (tests)."""
    return _static(path)


def _forget_static(**kwargs: Any) -> None:
    static.cache_clear()


setting_changed.connect(_forget_static)


def can_audit(request: Any) -> bool:
    from lims.history import is_auditor

    return is_auditor(getattr(request, "user", None))


def history_link(request: Any, obj: Any, text: str = "History") -> str:
    from lims.templatetags.lims_ui import history_link as tag

    return tag({"request": request}, obj, text)


@jinja2.pass_environment
def sort_th(env: jinja2.Environment, sorting: Any, key: str, label: str, css: str = "") -> Markup:
    """``{% sort_th sorting key label css %}`` (``lims_ui``): a list's column header, from the same
    ``templates/_th.html``."""
    from lims.templatetags.lims_ui import sort_th as header

    return Markup(env.get_template("_th.html").render(header(sorting, key, label, css)))


#: the names a dict has as attributes (its methods): ``{{ d.items }}`` is the method, as in Jinja2
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(jinja2.Environment):
    """Jinja2's environment, with ``{{ row.key }}`` on a dict read without an exception.

    Jinja2 reads ``a.b`` as ``getattr(a, "b")``, and only when that raises ``AttributeError`` as ``a["b"]``: a
    list page prints its rows from dicts (lims.listing), so every cell of its table raised and caught an
    exception (~0.4 µs; 719 of them on the cell list page, 650 on the derived-property page). A plain ``dict``
    has no attribute but its class's, so for any other name ``getattr`` always raises and Jinja2 reads the key:
    this reads the key first, for exactly those names. The answer is Jinja2's in every case
    (lims/tests/test_jinja_pages.py compares them)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def environment(**options: Any) -> jinja2.Environment:
    options.setdefault("finalize", _finalize)
    env = Environment(**options)
    from lims.templatetags.lims_ui import sig

    env.globals.update(
        url=url,
        static=static,
        widthratio=widthratio,
        can_audit=can_audit,
        history_link=history_link,
        sort_th=sort_th,
    )
    env.filters.update(
        floatformat=defaultfilters.floatformat,
        date=date,
        yesno=defaultfilters.yesno,
        linebreaksbr=defaultfilters.linebreaksbr,
        urlencode=defaultfilters.urlencode,
        sig=sig,
    )
    return env


#: what the backend and its context processors put in a page's context beside the view's own
REQUEST_KEYS = frozenset(
    {"request", "csrf_input", "csrf_token", "user", "perms", "messages", "DEFAULT_MESSAGE_LEVELS"}
)


class _Csrf:
    """``csrf_input``, made once per page: Django's Jinja2 backend masks a new token each time the page prints it
    (the logout form, every state button...); Django templates make it once per page, as this does."""

    __slots__ = ("request", "text")

    def __init__(self, request: Any) -> None:
        self.request = request
        self.text: str | None = None

    def __html__(self) -> str:
        if self.text is None:
            self.text = csrf_input(self.request)
        return self.text

    __str__ = __html__


def _as_django_error(exc: jinja2.TemplateSyntaxError) -> TemplateSyntaxError:
    """A Jinja2 syntax error as Django's backend reports it: Django's error, with the debug page's source lines."""
    error = TemplateSyntaxError(exc.args)
    error.template_debug = backend.get_exception_info(exc)  # type: ignore[arg-type,attr-defined]
    return error


class Template(backend.Template):
    def __init__(self, template: Any, backend: Any) -> None:
        super().__init__(template, backend)
        self.name = template.name  # as a Django template's (assertTemplateUsed)

    def render(self, context: dict[str, Any] | None = None, request: Any = None) -> str:
        if context is None:
            context = {}
        if request is not None:
            context["request"] = request
            context["csrf_input"] = _Csrf(request)
            context["csrf_token"] = csrf_token_lazy(request)
            for processor in self.backend.template_context_processors:
                context.update(processor(request))
        # what Django's test client records of a Django template (response.context, assertTemplateUsed); nothing
        # listens unless django.test is loaded
        signals = sys.modules.get("django.test.signals")
        if signals is not None:
            signals.template_rendered.send(sender=self, template=self, context=context)
        try:
            return self.template.render(context)
        except jinja2.TemplateSyntaxError as exc:  # an included template, compiled as it is reached
            raise _as_django_error(exc) from exc


class Jinja2(backend.Jinja2):
    """Django's Jinja2 backend, with ``csrf_input`` made once per page and the test client's record of what was
    rendered."""

    def get_template(self, template_name: str) -> Template:
        return Template(super().get_template(template_name).template, self)

    def from_string(self, template_code: str) -> Template:
        try:
            return Template(self.env.from_string(template_code), self)
        except jinja2.TemplateSyntaxError as exc:
            raise _as_django_error(exc) from exc
