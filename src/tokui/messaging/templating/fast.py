"""Liquid for sending: a template version turned once into literal text and small closures, rendered per recipient.

python-liquid walks its tree for every render: each output goes through a render context, a chain of scopes, filter
look-ups and a size-limited buffer, about 5 µs an output and 200 µs for a 20 KB mail — the larger part of a send's
CPU. A version is rendered for thousands of recipients, so ``compile_fast`` flattens it once: literal text stays a
string, and each output, loop and condition becomes a closure over what the engine parsed.

The engine stays the authority:
- values are turned into text by its own ``to_liquid_string`` (escaping included), filters are the environment's own
  functions, conditions are its own expression objects evaluated against the recipient's values, loops use its own
  ``ForLoop`` (``forloop.index`` and the rest behave the same), blank blocks are suppressed as it does;
- a template using anything else (assign, capture, case, cycle, increment, break, ternaries, ranges, loop offsets,
  ``now``, filters that need the render context) is not compiled: ``compile_fast`` returns ``None``;
- at run time any doubt — an error, a value that is not plain data, a loop or output limit — raises
  ``FastRenderError`` and the caller renders that mail with the engine, so errors and limits are always the engine's.

``tests/messaging/test_fast_liquid.py`` renders random templates of the compiled forms both ways with random
recipients and requires identical text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from liquid import BoundTemplate, Environment, RenderContext, Undefined
from liquid.ast import BlockNode, Node
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.expressions.arguments import KeywordArgument, PositionalArgument
from liquid.builtin.expressions.logical import (
    BooleanExpression,
    ContainsExpression,
    EqExpression,
    GeExpression,
    GtExpression,
    LeExpression,
    LogicalAndExpression,
    LogicalNotExpression,
    LogicalOrExpression,
    LtExpression,
    NeExpression,
)
from liquid.builtin.expressions.primitive import (
    Blank,
    Empty,
    FalseLiteral,
    FloatLiteral,
    IntegerLiteral,
    Nil,
    StringLiteral,
    TrueLiteral,
)
from liquid.builtin.output import OutputNode
from liquid.builtin.tags.comment_tag import CommentNode
from liquid.builtin.tags.for_tag import ForLoop, ForNode
from liquid.builtin.tags.if_tag import IfNode
from liquid.builtin.tags.unless_tag import UnlessNode
from liquid.expression import Expression
from liquid.stringify import to_liquid_string
from markupsafe import escape

from tokui.messaging.templating.fast_links import LINKS_UNSURE, tracked_outputs
from tokui.messaging.templating.fast_slots import FILLS, Loops, Out, Piece, Slot, Values, fuse_slots


class FastRenderError(Exception):
    """This mail is not for the fast path: render it with the engine."""


class _NotCompilableError(Exception):
    pass


# Roots the engine resolves itself (render flags, the clock): a template naming them is left to the engine.
_RESERVED_ROOTS = frozenset({"partial", "now", "today"})
_SPECIAL_KEYS = frozenset({"size", "first", "last"})
_NEEDS_ESCAPING = re.compile("[&<>'\"]")
_MISSING = object()
_LITERALS = (StringLiteral, IntegerLiteral, FloatLiteral, TrueLiteral, FalseLiteral, Nil)
_CONDITION_NODES = (
    BooleanExpression, LogicalNotExpression, LogicalAndExpression, LogicalOrExpression, EqExpression, NeExpression,
    LeExpression, GeExpression, LtExpression, GtExpression, ContainsExpression, Blank, Empty, *_LITERALS,
)  # fmt: skip


class _Resolver:
    """Path look-up as the engine's ``RenderContext.get`` does it, over one recipient's values."""

    __slots__ = ("env", "static")

    def __init__(self, template: BoundTemplate) -> None:
        self.env = template.env
        # Only for ``get_item`` (size / first / last and sequences), which reads nothing but the environment.
        self.static = RenderContext(template)

    def resolve(self, values: Values, path: Sequence[str | int], token: Any) -> Any:
        root = path[0]
        try:
            obj = values[root]  # type: ignore[index]
        except KeyError:
            return self.env.undefined(str(root), hint=f"{root!r} is undefined", token=token)
        for segment in path[1:]:
            try:
                if type(obj) is dict and type(segment) is str and segment not in _SPECIAL_KEYS:
                    obj = obj[segment]
                else:
                    obj = self.static.get_item(obj, segment)
            except (KeyError, TypeError):
                return self.env.undefined(str(root), hint=f"{path} is undefined", token=token)
            except IndexError:
                return self.env.undefined(str(root), hint="index out of range", token=token)
        return obj


class _Scope:
    """What the engine's expression objects ask of a render context while a condition is evaluated."""

    __slots__ = ("autoescape", "env", "resolver", "values")

    def __init__(self, resolver: _Resolver, values: Values) -> None:
        self.resolver, self.values, self.env = resolver, values, resolver.env
        self.autoescape = resolver.env.autoescape

    def get(self, path: list[Any], *, token: Any = None, default: object = None) -> Any:
        return self.resolver.resolve(self.values, path, token)


LinkRewrite = Callable[[str, Mapping[str, str]], str]


class _Compiler:
    def __init__(
        self, template: BoundTemplate, slots: Sequence[str], link: LinkRewrite | None = None, *, utf8: bool = False
    ) -> None:
        self.utf8 = utf8
        # ``link`` rewrites a value written as a whole href (``fast_links``); ``links_complete`` stays true while
        # every link of the template is accounted for that way or is fixed text.
        self.link = link if template.env.autoescape else None
        self.links_complete = self.link is not None
        self.slots = frozenset(slots)
        self.slot_pattern = re.compile("(" + "|".join(map(re.escape, slots)) + ")") if slots else None
        self.env: Environment = template.env
        self.autoescape = bool(self.env.autoescape)
        self.resolver = _Resolver(template)
        self.limit = self.env.loop_iteration_limit

    # --- expressions ---------------------------------------------------------------------------------------------

    def path(self, expression: Path) -> tuple[str | int, ...]:
        segments = tuple(expression.path)
        if not segments or not isinstance(segments[0], str) or segments[0] in _RESERVED_ROOTS:
            raise _NotCompilableError
        if not all(isinstance(segment, str | int) for segment in segments):
            raise _NotCompilableError  # nested paths (``a[b.c]``)
        return segments  # type: ignore[return-value]

    def value(self, expression: Expression) -> Callable[[Values], Any]:
        if isinstance(expression, Path):
            return self._lookup(self.path(expression), expression.token)
        if isinstance(expression, _LITERALS):
            # A real context: a string literal is markup (never escaped) when the environment escapes output.
            constant = expression.evaluate(self.resolver.static)
            return lambda _values: constant
        raise _NotCompilableError

    def _lookup(self, segments: tuple[str | int, ...], token: Any) -> Callable[[Values], Any]:
        resolve = self.resolver.resolve
        if len(segments) > 2 or not all(type(s) is str and s not in _SPECIAL_KEYS for s in segments):
            return lambda values: resolve(values, segments, token)
        # ``name`` and ``contact.name``, the usual outputs: two dict look-ups inline; anything missing or not a
        # plain dict takes the resolver (and gets the engine's undefined value).
        root, key = str(segments[0]), segments[-1]
        if len(segments) == 1:

            def variable(values: Values) -> Any:
                found = values.get(root, _MISSING)
                return resolve(values, segments, token) if found is _MISSING else found

            return variable

        def attribute(values: Values) -> Any:
            parent = values.get(root, _MISSING)
            if type(parent) is dict:
                found = parent.get(key, _MISSING)
                if found is not _MISSING:
                    return found
            return resolve(values, segments, token)

        return attribute

    def check_condition(self, expression: Expression) -> None:
        if isinstance(expression, Path):
            self.path(expression)
            return
        if not isinstance(expression, _CONDITION_NODES):
            raise _NotCompilableError
        for child in expression.children():
            self.check_condition(child)

    def condition(self, expression: Expression) -> Callable[[Values], bool]:
        self.check_condition(expression)
        resolver = self.resolver
        return lambda values: bool(expression.evaluate(_Scope(resolver, values)))  # type: ignore[arg-type]

    def filters(self, expression: FilteredExpression) -> list[Callable[[Any, Values], Any]]:
        compiled = []
        for item in expression.filters or ():
            function = self.env.filters.get(item.name)
            if function is None or getattr(function, "with_context", False):
                raise _NotCompilableError
            if getattr(function, "with_environment", False):
                function = partial(function, environment=self.env)
            positional = [self.value(a.value) for a in item.args if isinstance(a, PositionalArgument)]
            keywords = [(a.name, self.value(a.value)) for a in item.args if isinstance(a, KeywordArgument)]
            if len(positional) + len(keywords) != len(item.args):
                raise _NotCompilableError
            compiled.append(self._filter(function, positional, keywords))
        return compiled

    @staticmethod
    def _filter(
        function: Callable[..., Any],
        positional: list[Callable[[Values], Any]],
        keywords: list[tuple[str, Callable[[Values], Any]]],
    ) -> Callable[[Any, Values], Any]:
        if not positional and not keywords:
            return lambda value, _values: function(value)
        return lambda value, values: function(
            value, *[argument(values) for argument in positional], **{n: a(values) for n, a in keywords}
        )

    # --- nodes ---------------------------------------------------------------------------------------------------

    def nodes(self, nodes: Sequence[Node]) -> list[str | Piece | Slot]:
        pieces: list[str | Piece | Slot] = []
        tracked: set[int] = set()
        if self.link is not None:
            tracked, safe = tracked_outputs(nodes)
            self.links_complete = self.links_complete and safe
        for index, node in enumerate(nodes):
            made = [self.output(node, link=True)] if index in tracked else self.node(node)  # type: ignore[arg-type]
            for piece in made:
                if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
                    pieces[-1] += piece  # neighbouring text joined once, here
                elif piece != "":
                    pieces.append(piece)
        return pieces

    def node(self, node: Node) -> list[str | Piece | Slot]:
        kind = type(node)
        if kind is ContentNode:
            return self.content(node.text)  # type: ignore[attr-defined]
        if kind is OutputNode:
            return [self.output(node)]  # type: ignore[arg-type]
        if isinstance(node, CommentNode):
            return []
        if kind is BlockNode:
            return [self.block(node)]  # type: ignore[arg-type]
        if kind is ForNode:
            return [self.loop(node)]  # type: ignore[arg-type]
        if kind is IfNode or kind is UnlessNode:
            return [self.branch(node, negate=kind is UnlessNode)]  # type: ignore[arg-type]
        raise _NotCompilableError

    def content(self, text: str) -> list[str | Piece | Slot]:
        if self.slot_pattern is None or not self.slot_pattern.search(text):
            return [text]
        return [self.slot(part) if part in self.slots else part for part in self.slot_pattern.split(text) if part]

    @staticmethod
    def slot(marker: str) -> Slot:
        return Slot(marker)

    def run(self, nodes: Sequence[Node]) -> Piece:
        pieces = fuse_slots(self.nodes(nodes), utf8=self.utf8)
        literal = bytes if self.utf8 else str

        def render(values: Values, out: Out, loops: Loops) -> None:
            for piece in pieces:
                if type(piece) is literal:
                    out.append(piece)
                else:
                    piece(values, out, loops)  # type: ignore[operator]

        return render

    def block(self, block: BlockNode) -> Piece:
        render = self.run(block.nodes)
        if not (self.env.suppress_blank_control_flow_blocks and block.blank):
            return render

        def blank(values: Values, _out: Out, loops: Loops) -> None:
            render(values, [], loops)  # evaluated (an error is still an error), its whitespace not written

        return blank

    def output(self, node: OutputNode, *, link: bool = False) -> Piece:
        expression = node.expression
        if type(expression) is not FilteredExpression:
            raise _NotCompilableError  # ternaries
        value = _filtered(self.value(expression.left), self.filters(expression))
        autoescape, utf8 = self.autoescape, self.utf8
        if self.link is not None:
            return self.link_output(value, self.link, whole_href=link, utf8=utf8)

        def output(values: Values, out: Out, _loops: Loops) -> None:
            result = value(values)
            kind = type(result)
            if kind is str:
                # Most values (names, addresses) have nothing to escape: no Markup object made for those.
                text = escape(result) if autoescape and _NEEDS_ESCAPING.search(result) else result
            elif kind is int:
                text = str(result)  # as the engine writes it (bool is not ``int`` here); digits need no escaping
            else:
                text = to_liquid_string(result, autoescape)
            out.append(text.encode() if utf8 else text)

        return output

    @staticmethod
    def link_output(
        value: Callable[[Values], Any], link: LinkRewrite, *, whole_href: bool, utf8: bool = False
    ) -> Piece:
        """An output of a send template with link tracking: the value of a whole href is rewritten as it is written;
        any value carrying a quote (markup, not escaped) sends the render to the regex pass."""

        def output(values: Values, out: Out, _loops: Loops) -> None:
            result = value(values)
            kind = type(result)
            if kind is str:
                text = escape(result) if _NEEDS_ESCAPING.search(result) else result
            elif kind is int:
                text = str(result)
            else:
                text = to_liquid_string(result, True)
                if '"' in text:
                    values[FILLS][LINKS_UNSURE] = "1"
            if whole_href:
                text = link(text, values[FILLS])
            out.append(text.encode() if utf8 else text)

        return output

    def loop(self, node: ForNode) -> Piece:
        expression = node.expression
        if expression.limit is not None or expression.offset is not None or expression.reversed or expression.cols:
            raise _NotCompilableError
        iterable, name = self.value(expression.iterable), str(expression.identifier)
        label = f"{name}-{expression.iterable}"
        body = self.block(node.block)
        default = self.block(node.default) if node.default else None
        limit, undefined = self.limit, self.env.undefined

        def loop(values: Values, out: Out, loops: Loops) -> None:
            items = iterable(values)
            if type(items) is list or type(items) is tuple:
                length = len(items)
            elif items is None or isinstance(items, Undefined):
                length = 0
            else:
                raise FastRenderError  # mappings, strings, drops: the engine iterates those
            if not length:
                if default is not None:
                    default(values, out, loops)
                return
            if limit:
                product = length
                for outer in loops:
                    product *= outer.length
                if product > limit:
                    raise FastRenderError
            parent = loops[-1] if loops else undefined("parentloop", token=None)
            forloop = ForLoop(name=label, it=iter(items), length=length, parentloop=parent)
            scope = {**values, "forloop": forloop, name: None}
            loops.append(forloop)
            try:
                for item in forloop:
                    scope[name] = item
                    body(scope, out, loops)
            finally:
                loops.pop()

        return loop

    def branch(self, node: IfNode | UnlessNode, *, negate: bool) -> Piece:
        first = self.condition(node.condition)
        arms = [(first, self.block(node.consequence))]
        arms += [(self.condition(alt.expression), self.block(alt.block)) for alt in node.alternatives]
        default = self.block(node.default) if node.default else None

        def branch(values: Values, out: Out, loops: Loops) -> None:
            for index, (test, block) in enumerate(arms):
                passed = test(values)
                if passed != (negate and index == 0):
                    block(values, out, loops)
                    return
            if default is not None:
                default(values, out, loops)

        return branch


def _filtered(value: Callable[[Values], Any], filters: list[Callable[[Any, Values], Any]]) -> Callable[[Values], Any]:
    """``value`` with ``filters`` applied in turn, as one call (an output without filters is the look-up alone)."""
    if not filters:
        return value
    if len(filters) == 1:
        only = filters[0]
        return lambda values: only(value(values), values)

    def filtered(values: Values) -> Any:
        result = value(values)
        for apply in filters:
            result = apply(result, values)
        return result

    return filtered


class FastTemplate:
    """A compiled template: ``render(values)`` gives the engine's text, or raises ``FastRenderError``."""

    __slots__ = ("links_complete", "output_limit", "render_nodes")

    def __init__(self, render_nodes: Piece, output_limit: int | None, *, links_complete: bool = False) -> None:
        self.render_nodes, self.output_limit = render_nodes, output_limit
        self.links_complete = links_complete

    def _pieces(self, values: Values, fills: dict[str, str] | None) -> Out:
        out: Out = []
        try:
            self.render_nodes({**values, FILLS: fills if fills is not None else {}}, out, [])
        except FastRenderError:
            raise
        except Exception as error:  # the engine says what is wrong, in its own words
            raise FastRenderError from error
        return out

    def render(self, values: Values, fills: dict[str, str] | None = None) -> str:
        text = "".join(self._pieces(values, fills))
        if self.output_limit is not None and len(text) > self.output_limit:
            raise FastRenderError
        return text

    def render_utf8(self, values: Values, fills: dict[str, str] | None = None) -> bytes:
        """``render(...).encode()`` for a template compiled with ``utf8``."""
        data = b"".join(self._pieces(values, fills))
        # The engine's limit counts characters; a UTF-8 length over it may still be within: the engine decides.
        if self.output_limit is not None and len(data) > self.output_limit:
            raise FastRenderError
        return data


def compile_fast(
    template: BoundTemplate, *, slots: Sequence[str] = (), link: LinkRewrite | None = None, utf8: bool = False
) -> FastTemplate | None:
    """``template`` as a ``FastTemplate``, or ``None`` when it uses more than the compiled forms. Each of ``slots``
    (markers in the template's text) is filled per render from ``fills`` without searching the output; ``link``
    rewrites the outputs that are a whole href (``fast_links``). With ``utf8`` it renders UTF-8 bytes
    (``render_utf8``), its literal text encoded once here."""
    if template.globals or template.env.undefined is not Undefined:
        return None  # values bound to the template itself, strict undefined values: left to the engine
    compiler = _Compiler(template, slots, link, utf8=utf8)
    try:
        render = compiler.run(template.nodes)
        if link is not None and not compiler.links_complete:
            # Some link is not accounted for, so the regex pass runs over the result: no output may be rewritten
            # before it, since an unclosed href earlier in the text can make the regex take a later link's quote
            # (and leave that link as it is). Compiled again without rewriting.
            compiler = _Compiler(template, slots, None, utf8=utf8)
            render = compiler.run(template.nodes)
    except _NotCompilableError:
        return None
    return FastTemplate(render, template.env.output_stream_limit, links_complete=compiler.links_complete)


def compile_top_level(
    template: BoundTemplate, *, slots: Sequence[str] = (), link: LinkRewrite | None = None
) -> tuple[list[str | Piece | Slot], bool] | None:
    """The template's top-level pieces as ``compile_fast`` makes them (literal text, slot markers, compiled
    closures that write into a list) and whether every link is accounted for; ``None`` when it does not compile.
    For ``fast_merge``, which renders each piece on its own."""
    if template.globals or template.env.undefined is not Undefined:
        return None
    compiler = _Compiler(template, slots, link)
    try:
        return compiler.nodes(template.nodes), compiler.links_complete
    except _NotCompilableError:
        return None


class MailLiquid:
    """One part of a mail (subject, HTML, text): the engine's template and, when it compiles, its fast form."""

    __slots__ = ("fast", "fast_utf8", "template")

    def __init__(
        self,
        template: BoundTemplate,
        *,
        slots: Sequence[str] = (),
        link: LinkRewrite | None = None,
        utf8: bool = False,
    ) -> None:
        self.template = template
        self.fast = compile_fast(template, slots=slots, link=link)
        # The form a send's SMTP message takes: UTF-8 bytes, without encoding the whole part per mail (~20 µs).
        self.fast_utf8 = compile_fast(template, slots=slots, link=link, utf8=True) if utf8 else None

    def render(self, **values: Any) -> str:
        return self.render_filled(values, {})

    def render_filled(self, values: Mapping[str, Any], fills: dict[str, str]) -> str:
        """The text with every slot marker replaced by its fill (a search of the whole text only when the engine
        rendered it)."""
        return self.render_linked(values, fills)[0]

    def render_linked(self, values: Mapping[str, Any], fills: dict[str, str]) -> tuple[str, bool]:
        """``render_filled``, and whether every link Liquid wrote was rewritten while rendering (else the caller
        passes its regex over the text)."""
        if self.fast is not None:
            try:
                text = self.fast.render(values, fills)
                return text, self.fast.links_complete and LINKS_UNSURE not in fills
            except FastRenderError:
                fills.pop(LINKS_UNSURE, None)
        text = self.template.render(**values)
        for marker, fill in fills.items():
            text = text.replace(marker, fill)
        return text, False

    def render_linked_utf8(self, values: Mapping[str, Any], fills: dict[str, str]) -> tuple[bytes, bool]:
        """``render_linked`` as UTF-8 bytes."""
        if self.fast_utf8 is not None:
            try:
                data = self.fast_utf8.render_utf8(values, fills)
                return data, self.fast_utf8.links_complete and LINKS_UNSURE not in fills
            except FastRenderError:
                fills.pop(LINKS_UNSURE, None)
        text, linked = self.render_linked(values, fills)
        return text.encode(), linked
