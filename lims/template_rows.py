"""``{% rowfor row in rows %}...{% empty %}...{% endrowfor %}``: Django's ``{% for %}`` over a list page's rows,
with its body compiled once into a Python function.

A list page prints 50 rows of a dozen cells each. Through the template engine each ``{{ row.code }}`` is a
node to render, a variable to resolve and a value to localise and escape: about 40 µs a row, 2 ms of the cell
list page (13 ms in-process). The body of a ``rowfor`` is the same markup, in the template, but it may use only:

* text;
* ``{{ row.key }}`` (the loop variable and one key, no filter);
* ``{% if row.key %}``, ``{% if not row.key %}``, ``{% if row.key is None %}``, ``{% if row.key is not None %}``
  with ``{% else %}``, nested;

anything else is a ``TemplateSyntaxError`` when the template is loaded (write the cell's text in the row's
presenter instead: ``lims.presentation``). At load the body becomes one Python function (``_compile``), which
prints what Django prints: a ``str`` value is escaped as Django escapes it (``html.escape``), a safe string is
left as it is, any other value goes through Django's own ``render_value_in_context`` (localised, escaped), and a
condition is Python's truth or an ``is`` test, as ``{% if %}`` evaluates them. Where the function cannot give
Django's answer it does not try: rows that are not mappings holding each key, a value that is callable (Django
would call it), a template with autoescape off: the loop is then rendered by Django's own ``ForNode`` from the same
nodes. ``{% empty %}`` is a Django node list, as in ``{% for %}``. Unlike ``{% for %}``, the body has no
``forloop`` (using it is a syntax error). ``lims/tests/test_template_rows.py`` renders each page's rows both ways.
"""

from __future__ import annotations

import html
from typing import Any

from django import template
from django.template.base import (
    FilterExpression,
    Node,
    NodeList,
    TextNode,
    VariableNode,
    render_value_in_context,
)
from django.template.defaulttags import ForNode, IfNode, TemplateLiteral
from django.utils.safestring import SafeString


class _Slow(Exception):
    """The compiled body cannot give Django's answer for these rows: Django renders them."""


def _key_of(expression: Any, loopvar: str, where: str) -> str:
    """The key of ``{{ loopvar.key }}`` (no filters), else a syntax error naming ``where``."""
    var = getattr(expression, "var", None) if isinstance(expression, FilterExpression) else None
    lookups = getattr(var, "lookups", None)
    if expression.filters or not lookups or len(lookups) != 2 or lookups[0] != loopvar:
        raise template.TemplateSyntaxError(
            f"rowfor: {where} may only name {loopvar}.<key> without filters, not {expression.token!r}"
        )
    return str(lookups[1])


def _condition(cond: Any, loopvar: str) -> tuple[str, str]:
    """``(python test with {v} for the value, key)`` of a supported ``{% if %}`` condition."""
    if isinstance(cond, TemplateLiteral):
        return "{v}", _key_of(cond.value, loopvar, "an if")
    op = getattr(cond, "id", None)
    if op == "not" and isinstance(getattr(cond, "first", None), TemplateLiteral):
        return "not {v}", _key_of(cond.first.value, loopvar, "an if")
    if op in ("is", "is not") and isinstance(cond.first, TemplateLiteral):
        second: Any = cond.second
        if (
            isinstance(second, TemplateLiteral)
            and second.text == "None"
            and not getattr(second.value, "filters", True)
        ):
            return "{v} " + op + " None", _key_of(cond.first.value, loopvar, "an if")
    raise template.TemplateSyntaxError(
        f"rowfor: an if may test {loopvar}.<key>, not {loopvar}.<key>, or is (not) None; not {cond!r}"
    )


class _Writer:
    def __init__(self, loopvar: str) -> None:
        self.loopvar = loopvar
        self.lines: list[str] = []
        self.text: list[str] = []  # literal text not yet written
        self.fresh = 0

    def flush(self, indent: str) -> None:
        if self.text:
            self.lines.append(f"{indent}append({''.join(self.text)!r})")
            self.text = []

    def value(self, key: str, indent: str) -> str:
        """Lines reading ``row[key]`` into a fresh name, refusing a callable (Django would call it)."""
        self.fresh += 1
        name = f"v{self.fresh}"
        self.lines.append(f"{indent}{name} = row[{key!r}]")
        self.lines.append(f"{indent}if callable({name}): raise Slow")
        return name

    def nodes(self, nodelist: NodeList, indent: str) -> None:
        for node in nodelist:
            if isinstance(node, TextNode):
                self.text.append(node.s)
            elif isinstance(node, VariableNode):
                key = _key_of(node.filter_expression, self.loopvar, "a variable")
                self.flush(indent)
                name = self.value(key, indent)
                self.lines.append(
                    f"{indent}append(escape({name}) if {name}.__class__ is str else "
                    f"{name} if {name}.__class__ is SafeString else text({name}, context))"
                )
            elif isinstance(node, IfNode):
                self.flush(indent)
                at = indent  # an elif nests one level deeper: else, then its own if
                for i, (cond, body) in enumerate(node.conditions_nodelists):
                    if cond is None:
                        self.lines.append(f"{at}else:")
                    else:
                        test, key = _condition(cond, self.loopvar)
                        if i:  # an elif reads its own key only when reached, as Django evaluates them in turn
                            self.lines.append(f"{at}else:")
                            at += "    "
                        name = self.value(key, at)
                        self.lines.append(f"{at}if {test.format(v=name)}:")
                    self.nodes(body, at + "    ")
                    self.flush(at + "    ")
                    self.lines.append(f"{at}    pass")
            else:
                raise template.TemplateSyntaxError(
                    f"rowfor: the body may hold text, {{{{ {self.loopvar}.<key> }}}} and simple ifs, "
                    f"not {type(node).__name__}"
                )


def _compile(loopvar: str, body: NodeList) -> Any:
    writer = _Writer(loopvar)
    writer.nodes(body, "        ")
    writer.flush("        ")
    source = "\n".join(
        [
            "def rows_html(rows, context):",
            "    out = []",
            "    append = out.append",
            "    for row in rows:",
            *writer.lines,
            "    return ''.join(out)",
        ]
    )
    namespace: dict[str, Any] = {
        "escape": html.escape,
        "SafeString": SafeString,
        "text": render_value_in_context,
        "Slow": _Slow,
    }
    exec(compile(source, f"<rowfor {loopvar}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["rows_html"]


class RowForNode(Node):
    child_nodelists = ("nodelist_loop", "nodelist_empty")

    def __init__(self, loopvar: str, sequence: FilterExpression, body: NodeList, empty: NodeList) -> None:
        self.loopvar = loopvar
        self.sequence = sequence
        self.nodelist_loop = body
        self.nodelist_empty = empty
        self.rows_html = _compile(loopvar, body)
        self.django = ForNode([loopvar], sequence, False, body, empty)

    def render(self, context: Any) -> str:
        values = self.sequence.resolve(context, ignore_failures=True)  # as ForNode reads its sequence
        if values is None:
            values = []
        if not hasattr(values, "__len__"):
            values = list(values)
        if len(values) < 1:
            return self.django.render(context)  # the {% empty %} part, as Django renders it
        if context.autoescape:
            try:
                return SafeString(self.rows_html(values, context))
            except (_Slow, KeyError, TypeError, AttributeError, IndexError):
                pass
        return self.django.render(context)


def do_rowfor(parser: Any, token: Any) -> RowForNode:
    bits = token.split_contents()
    if len(bits) != 4 or bits[2] != "in" or not bits[1].isidentifier():
        raise template.TemplateSyntaxError(
            f"'rowfor' is written {{% rowfor row in rows %}}, not {token.contents!r}"
        )
    sequence = parser.compile_filter(bits[3])
    body = parser.parse(("empty", "endrowfor"))
    empty = NodeList()
    if parser.next_token().contents == "empty":
        empty = parser.parse(("endrowfor",))
        parser.delete_first_token()
    return RowForNode(bits[1], sequence, body, empty)
