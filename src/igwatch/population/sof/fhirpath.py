"""A parser for the FHIRPath subset used by SQL on FHIR v2 ViewDefinitions.

The parser only builds a syntax tree; :mod:`igwatch.population.sof.plan` gives it meaning.
Precedence follows the FHIRPath grammar (N1): postfix invocation and indexing bind tightest,
then unary sign, multiplicative, additive, ``is``/``as``, ``|``, comparison, equality,
``in``/``contains``, ``and``, ``or``/``xor`` and ``implies``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from igwatch.population.sof.errors import ViewDefinitionError


@dataclass(frozen=True)
class Literal:
    value: str | int | Decimal | bool | None  # None is the empty collection {}
    kind: str  # string, integer, decimal, boolean, date, empty


@dataclass(frozen=True)
class Constant:
    name: str


@dataclass(frozen=True)
class This:
    pass


@dataclass(frozen=True)
class Member:
    source: Node | None  # None: a member of the current focus
    name: str


@dataclass(frozen=True)
class Index:
    source: Node
    index: Node


@dataclass(frozen=True)
class Call:
    source: Node | None
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


Node = Literal | Constant | This | Member | Index | Call | Binary | Unary

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<date>@[0-9T:.\-+Z]+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<delimited>`[^`]*`)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<special>\$(?:this|index|total))
  | (?P<constant>%[A-Za-z_][A-Za-z0-9_]*|%`[^`]*`|%'[^']*')
  | (?P<op><=|>=|!=|!~|[-+*/&|<>=~.,()\[\]{}])
)""",
    re.VERBOSE,
)

_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

_BINARY_LEVELS: list[tuple[str, ...]] = [
    ("implies",),
    ("or", "xor"),
    ("and",),
    ("in", "contains"),
    ("=", "~", "!=", "!~"),
    ("<=", "<", ">", ">="),
    ("|",),
    ("is", "as"),
    ("+", "-", "&"),
    ("*", "/", "div", "mod"),
]


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and i + 5 < len(text):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    stripped = expression.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None or match.end() == pos:
            raise ViewDefinitionError(f"FHIRPath {expression!r}: unexpected character at position {pos}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.pos = 0

    def fail(self, what: str) -> ViewDefinitionError:
        return ViewDefinitionError(f"FHIRPath {self.expression!r}: {what}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def peek_value(self) -> str | None:
        tok = self.peek()
        return tok[1] if tok else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end of expression")
        if value is not None and tok[1] != value:
            raise self.fail(f"expected {value!r}, found {tok[1]!r}")
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("empty expression")
        node = self.binary(0)
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek_value()!r}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            tok = self.peek()
            if tok is None or tok[0] not in ("op", "ident") or tok[1] not in _BINARY_LEVELS[level]:
                return node
            self.take()
            right = self.binary(level + 1)
            node = Binary(tok[1], node, right)

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("+", "-"):
            self.take()
            return Unary(tok[1], self.unary())
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while True:
            value = self.peek_value()
            if value == ".":
                self.take()
                node = self.invocation(node)
            elif value == "[":
                self.take()
                index = self.binary(0)
                self.take("]")
                node = Index(node, index)
            else:
                return node

    def identifier(self) -> str:
        kind, value = self.take()
        if kind == "ident":
            return value
        if kind == "delimited":
            return value[1:-1]
        raise self.fail(f"expected a name, found {value!r}")

    def invocation(self, source: Node | None) -> Node:
        tok = self.peek()
        if tok is not None and tok[0] == "special":
            self.take()
            if tok[1] != "$this":
                raise self.fail(f"{tok[1]} is not supported")
            return This() if source is None else source
        name = self.identifier()
        if self.peek_value() == "(":
            self.take()
            args: list[Node] = []
            if self.peek_value() != ")":
                args.append(self.binary(0))
                while self.peek_value() == ",":
                    self.take()
                    args.append(self.binary(0))
            self.take(")")
            return Call(source, name, tuple(args))
        return Member(source, name)

    def term(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end of expression")
        kind, value = tok
        if kind == "string":
            self.take()
            return Literal(_unescape(value[1:-1]), "string")
        if kind == "number":
            self.take()
            return Literal(Decimal(value), "decimal") if "." in value else Literal(int(value), "integer")
        if kind == "date":
            self.take()
            return Literal(value[1:], "date")
        if kind == "constant":
            self.take()
            name = value[1:]
            return Constant(name[1:-1] if name[:1] in "`'" else name)
        if value == "(":
            self.take()
            node = self.binary(0)
            self.take(")")
            return node
        if value == "{":
            self.take()
            self.take("}")
            return Literal(None, "empty")
        if kind == "ident" and value in ("true", "false"):
            self.take()
            return Literal(value == "true", "boolean")
        if kind in ("ident", "delimited", "special"):
            return self.invocation(None)
        raise self.fail(f"unexpected {value!r}")


def parse(expression: str) -> Node:
    """Parse a FHIRPath expression; raises ViewDefinitionError naming the expression."""
    if not isinstance(expression, str):
        raise ViewDefinitionError(f"FHIRPath expression must be a string, not {type(expression).__name__}")
    return _Parser(expression).parse()
