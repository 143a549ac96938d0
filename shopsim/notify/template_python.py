"""Templates translated to plain Python functions over the context dict, so a message renders without
Jinja's per-render machinery (a Context, a generator, name resolution through it, Undefined objects).

The translation reads the same parsed and guarded tree Jinja compiles (the sandbox's loop and join
guards included) and keeps Jinja's meaning for the subset the templates use: text, `{{ }}`, `if`, `set`
outside loops, `for` over one name with `loop.index`, `{% filter %}`, comparisons, `and`/`or`/`not`,
inline ifs, arithmetic (`+`, `*`, `%` and `**` through the sandbox, as Jinja does), `~`, lists, attribute
and item access, `is defined` and `is none`, and filters (those that take Jinja's context, such as
`money`, `map` and `selectattr`, get a stand-in holding what they read of it). A template using anything
else (macros, calls, `set` in a loop, nested loops...) is not translated: Jinja renders it, always.

A translated function may only answer when Jinja would answer the same text. Where that is not certain at
run time (a missing name, an attribute of something other than a dict, an inline if without an else that
is false, any error, output past the part's limit) it raises, and the caller renders that message with
Jinja, whose outcome (text, a fallback, a limit) stands. Steps are charged through the sandbox's own
filters, joins and loop guards, so a render that would run out of steps in Jinja runs out here first.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from jinja2 import nodes
from jinja2.nodes import EvalContext
from jinja2.utils import _PassArg

from shopsim.notify.filters import discount, money
from shopsim.notify.sandbox import ENV, budgeted

__all__ = ["translate"]

_MISSING = object()


class _Unsupported(Exception):
    """The template uses something this translation does not cover."""


class GiveUp(Exception):
    """Raised at run time where only Jinja can say what a template renders."""


def _ga(obj: Any, name: str) -> Any:
    # The sandbox reads a dict's key first; anything else (and a missing key) takes Jinja's longer road.
    if type(obj) is dict:
        return obj[name]
    raise GiveUp


def _set(value: Any) -> Any:
    if value is _MISSING:  # a `set` name read where it may not have been set: Jinja resolves it its own way
        raise GiveUp
    return value


def _has(obj: Any, name: str) -> bool:
    """`obj.name is defined` for a dict: a key is defined; a name that is no dict attribute is not."""
    if type(obj) is dict:
        if name in obj:
            return True
        if not hasattr(obj, name):
            return False
    raise GiveUp


def _no_else() -> Any:
    raise GiveUp


class _Context:
    """What Jinja's filters that take the context (select, map and the like) read of it: the environment, the
    eval context, and a name's value through `get` (money's currency and locale, when mapped)."""

    __slots__ = ("_ctx",)
    environment = ENV
    eval_ctx = EvalContext(ENV)

    def __init__(self, ctx: dict) -> None:
        self._ctx = ctx

    def get(self, key: str, default: Any = None) -> Any:
        ctx = self._ctx
        return ctx[key] if key in ctx else ENV.globals.get(key, default)


def _binop(op: str, left: Any, right: Any) -> Any:
    return ENV.call_binop(None, op, left, right)


_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in",
            "notin": "not in"}
_INTERCEPTED = {"Add": "+", "Mul": "*", "Mod": "%", "Pow": "**"}
_PLAIN = {"Sub": "-", "Div": "/", "FloorDiv": "//"}
_CONTEXT_FILTERS = (money, discount)  # they read only context.get("currency" / "locale")


class _Gen:
    def __init__(self, tree: nodes.Template) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {"_ga": _ga, "_set": _set, "_has": _has, "_no_else": _no_else,
                                       "_binop": _binop, "_MISSING": _MISSING, "_GLOBALS": ENV.globals,
                                       "_ENV": ENV, "_EVAL": _Context.eval_ctx, "_block_concat": ENV.concat,
                                       "_Context": _Context, "GiveUp": GiveUp}
        self.context = False  # whether a filter needs the _Context stand-in
        self.n = 0
        self.sets = self._top_sets(tree.body)
        self.loops: list[tuple[str, str, str]] = []  # (jinja name, python name, its loop.index)

    # --- statements -------------------------------------------------------------------------------

    def _top_sets(self, body: list[nodes.Node]) -> set[str]:
        names: set[str] = set()
        for node in body:
            if isinstance(node, nodes.Assign):
                if not isinstance(node.target, nodes.Name):
                    raise _Unsupported
                names.add(node.target.name)
            elif isinstance(node, nodes.If):
                for branch in (node.body, *[e.body for e in node.elif_], node.else_):
                    names |= self._top_sets(branch)
        return names

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def block(self, body: list[nodes.Node], indent: int, w: str, done: frozenset[str]) -> frozenset[str]:
        """Statements at `indent`, writing with `w`; `done`: the set names assigned on every path so far.
        Output between two other statements is written at once, as one f-string of its text and values
        (each value evaluated in its turn into a local first, as Jinja evaluates them)."""
        start = len(self.lines)
        pending: list[str] = []  # the f-string's parts: text with braces doubled, and {t1!s} for values
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if isinstance(child, nodes.TemplateData):
                        pending.append(child.data.replace("{", "{{").replace("}", "}}"))
                    elif isinstance(child, nodes.Const):
                        pending.append(str(child.value).replace("{", "{{").replace("}", "}}"))
                    else:
                        self.n += 1
                        value = f"t{self.n}"
                        self.emit(indent, f"{value} = {self.expr(child, done)}")
                        pending.append(f"{{{value}!s}}")
                continue
            self.write(pending, indent, w)
            done = self.stmt(node, indent, w, done)
        self.write(pending, indent, w)
        if len(self.lines) == start:
            self.emit(indent, "pass")
        return done

    def write(self, pending: list[str], indent: int, w: str) -> None:
        if pending:
            self.emit(indent, f"{w}(f{''.join(pending)!r})")
            pending.clear()

    def stmt(self, node: nodes.Node, indent: int, w: str, done: frozenset[str]) -> frozenset[str]:
        if isinstance(node, nodes.If):
            branches = [(node.test, node.body), *[(e.test, e.body) for e in node.elif_]]
            after = []
            for i, (test, body) in enumerate(branches):
                self.emit(indent, f"{'if' if i == 0 else 'elif'} {self.expr(test, done)}:")
                after.append(self.block(body, indent + 1, w, done))
            if node.else_:
                self.emit(indent, "else:")
                after.append(self.block(node.else_, indent + 1, w, done))
            else:
                after.append(done)
            return frozenset.intersection(*after)
        if isinstance(node, nodes.Assign):
            if self.loops or not isinstance(node.target, nodes.Name) or node.target.name not in self.sets:
                raise _Unsupported  # sets inside loops and filter blocks have scopes of their own
            self.emit(indent, f"s_{node.target.name} = {self.expr(node.node, done)}")
            return done | {node.target.name}
        if isinstance(node, nodes.For):
            if (node.else_ or node.test is not None or node.recursive or not isinstance(node.target, nodes.Name)
                    or any(isinstance(n, (nodes.Assign, nodes.For)) for n in node.find_all((nodes.Assign, nodes.For)))):
                raise _Unsupported
            self.n += 1
            item, index = f"i{self.n}", f"x{self.n}"
            self.emit(indent, f"for {index}, {item} in enumerate({self.expr(node.iter, done)}, 1):")
            self.loops.append((node.target.name, item, index))
            self.block(node.body, indent + 1, w, done)
            self.loops.pop()
            return done
        if isinstance(node, nodes.FilterBlock):
            if any(True for _ in node.find_all((nodes.Assign, nodes.For))):
                raise _Unsupported
            self.n += 1
            buf = f"b{self.n}"
            self.emit(indent, f"{buf} = []")
            self.block(node.body, indent, f"{buf}.append", done)
            # Jinja hands the block's text, joined by the sandbox's concat, to the filter and yields its result.
            self.emit(indent, f"{w}({self.filter(node.filter, f'_block_concat({buf})', done)})")
            return done
        raise _Unsupported

    # --- expressions ------------------------------------------------------------------------------

    def expr(self, node: nodes.Expr, done: frozenset[str]) -> str:
        if isinstance(node, nodes.Const):
            if type(node.value) not in (str, int, float, bool, type(None)):
                raise _Unsupported
            return repr(node.value)
        if isinstance(node, nodes.Name):
            return self.name(node.name, done)
        if isinstance(node, nodes.Getattr):
            if (isinstance(node.node, nodes.Name) and node.node.name == "loop" and self.loops
                    and not any(n == "loop" for n, _, _ in self.loops)):
                if node.attr != "index":
                    raise _Unsupported
                return self.loops[-1][2]
            # The sandbox reads a dict's key first; anything else takes Jinja's longer road (_ga gives up).
            self.n += 1
            v = f"a{self.n}"
            return f"({v}[{node.attr!r}] if type({v} := {self.expr(node.node, done)}) is dict else _ga({v}, {node.attr!r}))"
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Slice):
                s = node.arg
                parts = ["" if x is None else self.expr(x, done) for x in (s.start, s.stop, s.step)]
                return f"({self.expr(node.node, done)})[{parts[0]}:{parts[1]}:{parts[2]}]"
            return f"({self.expr(node.node, done)})[{self.expr(node.arg, done)}]"
        if isinstance(node, nodes.Compare):
            code = self.expr(node.expr, done)
            for op in node.ops:
                code += f" {_COMPARE[op.op]} {self.expr(op.expr, done)}"
            return f"({code})"
        if isinstance(node, nodes.And):
            return f"({self.expr(node.left, done)} and {self.expr(node.right, done)})"
        if isinstance(node, nodes.Or):
            return f"({self.expr(node.left, done)} or {self.expr(node.right, done)})"
        if isinstance(node, nodes.Not):
            return f"(not {self.expr(node.node, done)})"
        if isinstance(node, nodes.Neg):
            return f"(-{self.expr(node.node, done)})"
        kind = type(node).__name__
        if kind in _INTERCEPTED:
            return f"_binop({_INTERCEPTED[kind]!r}, {self.expr(node.left, done)}, {self.expr(node.right, done)})"
        if kind in _PLAIN:
            return f"({self.expr(node.left, done)} {_PLAIN[kind]} {self.expr(node.right, done)})"
        if isinstance(node, nodes.CondExpr):
            other = "_no_else()" if node.expr2 is None else self.expr(node.expr2, done)
            return f"({self.expr(node.expr1, done)} if {self.expr(node.test, done)} else {other})"
        if isinstance(node, nodes.List):
            return f"[{', '.join(self.expr(x, done) for x in node.items)}]"
        if isinstance(node, nodes.Filter):
            if node.node is None:
                raise _Unsupported
            return self.filter(node, self.expr(node.node, done), done)
        if isinstance(node, nodes.Test):
            return self.test(node, done)
        raise _Unsupported

    def name(self, name: str, done: frozenset[str]) -> str:
        for jinja_name, item, _ in reversed(self.loops):
            if jinja_name == name:
                return item
        if name == "loop" and self.loops:
            raise _Unsupported
        if name in self.sets:
            return f"s_{name}" if name in done else f"_set(s_{name})"
        return f"ctx[{name!r}]"  # a missing name: KeyError, and Jinja decides

    def filter(self, node: nodes.Filter, value: str, done: frozenset[str]) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None or node.name not in ENV.filters:
            raise _Unsupported
        args = [self.expr(a, done) for a in node.args] + [f"{k.key}={self.expr(k.value, done)}" for k in node.kwargs]
        if node.name == "length" and not args:
            return f"len({value})"  # Jinja's length is len, and an int is never charged for
        func = ENV.filters[node.name]
        const = f"f{len(self.consts)}"
        self.consts[const] = func
        first = {_PassArg.environment: "_ENV", _PassArg.eval_context: "_EVAL", None: None}.get(_PassArg.from_obj(func), "")
        if first == "":  # Jinja's context: its `get` must not see a `set` name, which Jinja's would
            if self.sets & {"currency", "locale"}:
                raise _Unsupported
            if func in _CONTEXT_FILTERS:  # they read only ctx.get("currency") and ctx.get("locale")
                first = "ctx"
            else:
                first = "cx"
                self.context = True
        return f"{const}({', '.join(([first] if first else []) + [value] + args)})"

    def test(self, node: nodes.Test, done: frozenset[str]) -> str:
        if node.args or node.kwargs or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported
        if node.name == "none":
            return f"({self.expr(node.node, done)} is None)"
        if node.name != "defined":
            raise _Unsupported
        target = node.node
        if isinstance(target, nodes.Getattr):
            return f"_has({self.expr(target.node, done)}, {target.attr!r})"
        if isinstance(target, nodes.Name) and not self.loops and target.name not in self.sets:
            return f"({target.name!r} in ctx or {target.name!r} in _GLOBALS)"
        raise _Unsupported

    def source(self, body: list[nodes.Node]) -> str:
        self.emit(0, "def render(ctx, limit):")
        self.emit(1, "out = []")
        self.emit(1, "w = out.append")
        for name in sorted(self.sets):
            self.emit(1, f"s_{name} = _MISSING")
        self.block(body, 1, "w", frozenset())
        self.emit(1, "text = ''.join(out)")
        self.emit(1, "if len(text) > limit:")
        self.emit(2, "raise GiveUp")  # past the part's limit: Jinja's error says which
        self.emit(1, "return text")
        if self.context:
            self.lines.insert(1, "    cx = _Context(ctx)")
        return "\n".join(self.lines)


def translate(source: str) -> Callable[[dict, int], str] | None:
    """`source` as a function (ctx, limit) -> the rendered text, or None when Jinja must render it.
    The function raises where Jinja's answer may differ (see the module's docstring)."""
    try:
        tree = ENV._parse(source, None, None)  # the tree Jinja compiles, with the sandbox's guards
        gen = _Gen(tree)
        code = compile(gen.source(tree.body), "<template>", "exec")
    except Exception:  # noqa: BLE001 - outside the subset, too deep, or a source Jinja refuses: Jinja's
        return None
    space = dict(gen.consts)
    exec(code, space)  # noqa: S102 - code made above from the template's tree, names and literals only
    return partial(budgeted, space["render"])
