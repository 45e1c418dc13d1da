"""The form renderer (settings.FORM_RENDERER): Django's, with choice lists drawn in Python.

Django draws a ``<select>`` through three templates, including two per option (the option and its attributes).
A page filter with a few hundred recipe versions spent more than half of the cell list page's time there (the
cell list page: 57% of 45 ms). This renderer writes the same markup, byte for byte, for ``select.html`` whose options
use Django's ``select_option.html`` (every Select, SelectMultiple and NullBooleanSelect of the project) and for the
input widgets whose template is Django's ``input.html`` (text, number, date...: a filter form has a dozen), for
``textarea.html``, for a file input with no file yet (``clearable_file_input.html``) and for an empty error list
(every field of a form prints one), and hands every other template, and any select with an option template of its
own, to Django's templates unchanged.
``lims/tests/test_forms_renderer.py`` compares both on hostile labels, values and attributes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
TEXTAREA = "django/forms/widgets/textarea.html"
#: a file input: Django's ClearableFileInput (a FileField's widget) is input.html, without a value, when there is
#: no file yet
CLEARABLE_FILE = "django/forms/widgets/clearable_file_input.html"
#: an error list as ``{{ field.errors }}`` and ``{{ form.non_field_errors }}`` print it (default.html includes
#: ul.html, which is ``{% if errors %}...{% endif %}``): nothing at all when there is no error
ERROR_LISTS = frozenset({"django/forms/errors/list/default.html", "django/forms/errors/list/ul.html"})
#: Django's widget templates that are ``{% include "django/forms/widgets/input.html" %}`` and nothing else
INPUTS = frozenset(
    f"django/forms/widgets/{kind}.html"
    for kind in (
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)


def _shown(value: Any) -> str:
    """``{{ value }}`` as the template engine writes it: local time, localized, escaped unless safe."""
    if type(value) is str:  # plain text (most labels): localize and local time leave it as it is
        return html.escape(value)
    value = localize(template_localtime(value))
    return str(conditional_escape(value if isinstance(value, str) else str(value)))


def _attrs(attrs: Mapping[str, Any]) -> str:
    """attrs.html: `` name="value"`` for each attribute; True writes the bare name, False nothing."""
    if not attrs:
        return ""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {conditional_escape(name)}")
        else:
            out.append(f' {conditional_escape(name)}="{escape(str(value))}"')
    return "".join(out)


def render_select(widget: Mapping[str, Any]) -> SafeString:
    """select.html with select_option.html for each option (the template's outer newline is stripped by Django)."""
    parts = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            parts.append(
                f'\n  <option value="{html.escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
                f"{_shown(option['label'])}</option>\n"  # select_option.html ends with a newline
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: "%s" % value, escaped unless the value is safe."""
    text = str(value) if isinstance(value, tuple) else "%s" % value  # noqa: UP031 - the filter's own formatting
    return text if hasattr(value, "__html__") else html.escape(text)


def render_input(widget: Mapping[str, Any]) -> SafeString:
    """input.html: ``<input type name [value] attrs>``."""
    value = widget["value"]
    shown = f' value="{_formatted(value)}"' if value is not None else ""
    return mark_safe(  # noqa: S308 - every piece is escaped
        f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
    )


def render_textarea(widget: Mapping[str, Any]) -> SafeString:
    """textarea.html: the value on the line after the opening tag, when it is not empty."""
    value = widget["value"]
    return mark_safe(  # noqa: S308 - every piece is escaped
        f'<textarea name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_shown(value) if value else ''}</textarea>"
    )


def render_file_input(widget: Mapping[str, Any]) -> SafeString:
    """clearable_file_input.html without a current file: ``<input type name attrs>`` (a file has no value)."""
    return mark_safe(  # noqa: S308 - every piece is escaped
        f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>'
    )


def _drawable(context: Mapping[str, Any]) -> bool:
    widget = context.get("widget")
    if not isinstance(widget, Mapping) or "optgroups" not in widget:
        return False
    return all(
        option.get("template_name") == OPTION for _, group, _ in widget["optgroups"] for option in group
    )


class FastSelectRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> Any:
        if template_name == SELECT and _drawable(context):
            return render_select(context["widget"])
        if template_name in INPUTS and isinstance(context.get("widget"), Mapping):
            return render_input(context["widget"])
        if template_name == TEXTAREA and isinstance(context.get("widget"), Mapping):
            return render_textarea(context["widget"])
        widget = context.get("widget")
        if (
            template_name == CLEARABLE_FILE
            and isinstance(widget, Mapping)
            and not widget.get("is_initial", True)
        ):
            return render_file_input(widget)
        if template_name in ERROR_LISTS and "errors" in context and not context["errors"]:
            return ""  # every field prints its (empty) error list: a template each
        return super().render(template_name, context, request=request)
