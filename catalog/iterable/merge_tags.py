"""Handlebars-style merge tags as Iterable documents them for templates, enough to show what a send would say.

One renderer for both sides: the app's test-send preview and the emulator (which renders its sends with it).
Plain Python, no Django and no third-party package, so the emulator stays standalone in what it runs.

Supported: ``{{field}}`` (HTML-escaped), ``{{{field}}}`` (raw), dotted paths (``{{address.city}}``), ``this``
inside ``#each``, ``{{#if x}}…{{else}}…{{/if}}``, ``{{#unless x}}…{{/unless}}``, ``{{#each list}}…{{/each}}``,
``{{defaultIfEmpty field "fallback"}}``, comments ``{{! … }}`` and data-feed tags ``[[field]]``. A field that is
missing renders as an empty string, as the spec says Iterable does; an unknown helper is a ``RenderError``
(Iterable refuses such a template when it is saved, so a send never sees one).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

FEED_TAG = re.compile(r"\[\[\s*([\w.]+)\s*\]\]")
BLOCKS = ("if", "unless", "each")


class RenderError(ValueError):
    """A template the renderer cannot read (unbalanced block, unknown helper)."""


def _lookup(path: str, scopes: list[Any]) -> Any:
    if path in ("this", "."):
        return scopes[-1]
    if path.startswith("this."):
        path, scopes = path[5:], scopes[-1:]
    for scope in reversed(scopes):
        value: Any = scope
        for part in path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                value = None
                break
        if value is not None:
            return value
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", 0, [], {})


def _tokens(source: str) -> list[tuple[str, str]]:
    """("text", s) | ("raw", expr) | ("var", expr) pieces in order.

    Read by hand, not with a regular expression: a lazy ``{{(.*?)}}`` looks for its closing braces from every
    ``{{`` to the end of the text, which for a template of many tags never closed is quadratic (40 kB of
    ``{{`` took 15 s). Here each closing brace is looked for once: the next one found is remembered, and once
    none is left none is looked for again."""
    out: list[tuple[str, str]] = []
    pos = 0
    closing = {"}}}": 0, "}}": 0}  # the next place each closing is found at or after; -1: none left

    def next_closing(mark: str, start: int) -> int:
        found = closing[mark]
        if found == -1 or (found >= start and source.startswith(mark, found)):
            return found
        found = closing[mark] = source.find(mark, start)
        return found

    while True:
        i = source.find("{{", pos)
        if i == -1:
            break
        kind, end = "var", -1
        if source.startswith("{{{", i):
            end = next_closing("}}}", i + 3)
            kind = "raw" if end != -1 else "var"
        if end == -1:
            end = next_closing("}}", i + 2)
            if end == -1:
                break  # no tag can close after here
        opened = 3 if kind == "raw" else 2
        if i > pos:
            out.append(("text", source[pos:i]))
        out.append((kind, source[i + opened : end].strip()))
        pos = end + opened
    if pos < len(source):
        out.append(("text", source[pos:]))
    return out


def _parse(tokens: list[tuple[str, str]], i: int, closing: str | None) -> tuple[list[Any], int, str | None]:
    """A tree of nodes up to ``{{/closing}}``; returns (nodes, next index, "else" if stopped at {{else}})."""
    nodes: list[Any] = []
    while i < len(tokens):
        kind, value = tokens[i]
        i += 1
        if kind == "var" and value.startswith("#"):
            name, _, arg = value[1:].partition(" ")
            if name not in BLOCKS:
                raise RenderError(f"unknown block helper #{name}")
            body, i, stop = _parse(tokens, i, name)
            alternative: list[Any] = []
            if stop == "else":
                alternative, i, _ = _parse(tokens, i, name)
            nodes.append(("block", name, arg.strip(), body, alternative))
        elif kind == "var" and value.startswith("/"):
            if value[1:].strip() != closing:
                raise RenderError(f"unexpected {{{{{value}}}}}")
            return nodes, i, None
        elif kind == "var" and value == "else":
            if closing is None:
                raise RenderError("{{else}} outside a block")
            return nodes, i, "else"
        elif kind == "var" and value.startswith("!"):
            continue
        else:
            nodes.append((kind, value))
    if closing is not None:
        raise RenderError(f"{{{{#{closing}}}}} is never closed")
    return nodes, i, None


def _argument(token: str, scopes: list[Any]) -> Any:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    return _lookup(token, scopes)


def _expression(expr: str, scopes: list[Any]) -> Any:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|\S+', expr)
    if not parts:
        return None
    if len(parts) == 1:
        return _lookup(parts[0], scopes)
    helper, args = parts[0], [_argument(p, scopes) for p in parts[1:]]
    if helper == "defaultIfEmpty":
        return args[0] if _truthy(args[0]) else (args[1] if len(args) > 1 else "")
    raise RenderError(f"unknown helper {helper}")


def _filled(expr: str, scopes: list[Any], missing: list[str]) -> str:
    """One ``{{field}}``'s text; a plain field that comes out empty is noted in ``missing`` (a helper such as
    ``defaultIfEmpty`` already says what to show instead, so it is not)."""
    value = _expression(expr, scopes)
    parts = expr.split()
    if len(parts) == 1 and parts[0] not in ("this", ".") and value in (None, "") and parts[0] not in missing:
        missing.append(parts[0])
    return _text(value)


def _render(nodes: list[Any], scopes: list[Any], missing: list[str]) -> str:
    out: list[str] = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "raw":
            out.append(_filled(node[1], scopes, missing))
        elif node[0] == "var":
            out.append(html.escape(_filled(node[1], scopes, missing), quote=True))
        else:
            _, name, arg, body, alternative = node
            value = _expression(arg, scopes)
            if name == "each":
                items = value if isinstance(value, list) else []
                if items:
                    out.extend(_render(body, [*scopes, item], missing) for item in items)
                else:
                    out.append(_render(alternative, scopes, missing))
            elif _truthy(value) == (name == "if"):
                out.append(_render(body, scopes, missing))
            else:
                out.append(_render(alternative, scopes, missing))
    return "".join(out)


def render(source: str | None, data: dict[str, Any], feed: dict[str, Any] | None = None) -> str:
    """``source`` with its merge tags filled from ``data`` and ``[[feed tags]]`` from ``feed``."""
    return render_report(source, data, feed)[0]


def render_report(
    source: str | None, data: dict[str, Any], feed: dict[str, Any] | None = None
) -> tuple[str, list[str]]:
    """``render``, and the merge fields that came out empty (in order, once each): a preview names them."""
    if not source:
        return "", []
    missing: list[str] = []
    nodes, _, _ = _parse(_tokens(source), 0, None)
    text = _render(nodes, [data], missing)
    if feed is not None:
        text = FEED_TAG.sub(lambda m: html.escape(_text(_lookup(m.group(1), [feed]))), text)
    return text, missing


# Fields of a template that carry text a recipient sees, per medium.
RENDERED_FIELDS = {
    "Email": ("subject", "preheaderText", "html", "plainText", "fromName"),
    "Push": ("title", "message"),
    "SMS": ("message",),
    "InApp": ("html",),
}
