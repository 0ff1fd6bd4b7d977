"""The tokens of a condition, as expr-lang's lexer reads them.

Everything expr-lang's lexer accepts is tokenized here, including what the
parser then refuses (``let``, bytes literals, the pipe), so that a refusal
names the construct rather than a stray character. Offsets are 0-based
characters (code points, as expr-lang counts runes).

    >>> [t.text for t in tokenize("len(result[0].Values) >= 5 and all(result, {# <= .5})")][:6]
    ['len', '(', 'result', '[', '0', ']']
    >>> [(t.kind, t.text) for t in tokenize("x not in [1]")][1:3]
    [('operator', 'not'), ('operator', 'in')]
    >>> tokenize("'it\\\\'s'")[0].value
    "it's"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rollgen.errors import RollgenError

# Longer than any real condition; the spec schema holds successCondition/failureCondition to it too.
MAX_LENGTH: Final = 1024

# Words the lexer turns into operators, as expr-lang's does (`result.in` still reads a field named "in").
KEYWORDS: Final = frozenset(
    {"not", "in", "or", "and", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"}
)

_SIMPLE_ESCAPES: Final = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_DIGITS: Final = "0123456789"
_MAX_RUNE: Final = 0x10FFFF


class ConditionError(RollgenError):
    """A condition that cannot be parsed, or cannot be judged against a result."""

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        self.message = message
        super().__init__(f"offset {offset}: {message}")


@dataclass(frozen=True, kw_only=True, eq=False)
class Token:
    """One word, number, string, operator or bracket of a condition, where it starts."""

    kind: str  # "name", "number", "string", "bytes", "operator", "bracket" or "end"
    text: str  # as written (a string's value is in ``value``)
    offset: int
    value: str = ""

    def is_(self, kind: str, *texts: str) -> bool:
        return self.kind == kind and (not texts or self.text in texts)

    def describe(self) -> str:
        return "end of condition" if self.kind == "end" else repr(self.text)


def _alphanumeric(char: str) -> bool:
    # Go's unicode.IsLetter and unicode.IsDigit (decimal digits only: not "²").
    return char.isalpha() or char.isdecimal() or char in "_$"


def tokenize(text: str) -> tuple[Token, ...]:
    """The tokens of ``text``, ending with an ``end`` token; a :class:`ConditionError` where it cannot."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(MAX_LENGTH, f"condition longer than {MAX_LENGTH} characters")
    return tuple(_Lexer(text).tokens())


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self, ahead: int = 0) -> str:
        return self.text[self.i + ahead : self.i + ahead + 1]

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        text = self.text
        while self.i < len(text):
            start, char = self.i, text[self.i]
            if char.isspace():
                self.i += 1
            elif char in "'\"`":
                value = self._raw() if char == "`" else self._quoted(char)
                out.append(Token(kind="string", text=text[start : self.i], offset=start, value=value))
            elif char in "bB" and self.peek(1) in ("'", '"'):
                self.i += 1
                self._quoted(text[self.i])
                out.append(Token(kind="bytes", text=text[start : self.i], offset=start))
            elif char in _DIGITS or (char == "." and self.peek(1) in _DIGITS and self.peek(1)):
                out.append(Token(kind="number", text=self._number(), offset=start))
            elif char == "/" and self.peek(1) in ("/", "*"):
                self._comment()
            elif char == "#":
                self.i += 1
                out.append(Token(kind="operator", text="#", offset=start))
                name = self._word()
                if name:
                    out.append(Token(kind="name", text=name, offset=start + 1))
            elif _alphanumeric(char):
                out.append(self._identifier())
            else:
                out.append(self._operator())
        out.append(Token(kind="end", text="", offset=len(text)))
        return out

    def _word(self) -> str:
        start = self.i
        while self.i < len(self.text) and _alphanumeric(self.text[self.i]):
            self.i += 1
        return self.text[start : self.i]

    def _identifier(self) -> Token:
        start = self.i
        word = self._word()
        return Token(kind="operator" if word in KEYWORDS else "name", text=word, offset=start)

    def _operator(self) -> Token:
        start, char = self.i, self.text[self.i]
        self.i += 1
        if char in "([{)]}":
            return Token(kind="bracket", text=char, offset=start)
        if char == ".":
            self._accept(".")
        elif char == "?":
            self._accept(".?")
        elif char in "|:":
            self._accept(char)
        elif char in "&!=*<>":
            self._accept("&=*")
        elif char not in ",;%+-^/":
            raise ConditionError(start, f"unexpected character {char!r}")
        return Token(kind="operator", text=self.text[start : self.i], offset=start)

    def _accept(self, chars: str) -> None:
        if self.peek() and self.peek() in chars:
            self.i += 1

    def _comment(self) -> None:
        start = self.i
        if self.peek(1) == "/":
            end = self.text.find("\n", self.i)
            self.i = len(self.text) if end < 0 else end
            return
        end = self.text.find("*/", self.i + 2)
        if end < 0:
            raise ConditionError(start, "unclosed comment")
        self.i = end + 2

    def _number(self) -> str:
        start, digits = self.i, "0123456789_"
        if self.peek() == "0" and self.peek(1) and self.peek(1) in "xXoObB":
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[self.peek(1).lower()]
            self.i += 2
        self._run(digits)
        if self.peek() == "." and self.peek(1) != ".":  # `1..3` is a range, not the float `1.`
            self.i += 1
            self._run(digits)
        if self.peek() and self.peek() in "eE":
            self.i += 1
            self._accept("+-")
            self._run(digits)
        if self.peek() and _alphanumeric(self.peek()):
            raise ConditionError(start, f"bad number syntax: {self.text[start : self.i + 1]!r}")
        return self.text[start : self.i]

    def _run(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.i += 1

    def _quoted(self, quote: str) -> str:
        """The decoded text of the string opening at ``self.i``, which moves past it."""
        start = self.i
        self.i += 1
        chars: list[str] = []
        while True:
            char = self.peek()
            if char in ("", "\n"):
                raise ConditionError(start, "string literal not terminated")
            self.i += 1
            if char == quote:
                return "".join(chars)
            if char == "\\":
                chars.append(self._escape(quote))
            else:
                chars.append("\n" if char == "\r" else char)

    def _escape(self, quote: str) -> str:
        at = self.i - 1
        char = self.peek()
        self.i += 1
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char]
        if char == quote:
            return quote
        if char in "0123":
            digits = self.text[self.i : self.i + 2]
            if len(digits) < 2 or any(d not in "01234567" for d in digits):
                raise ConditionError(at, "invalid octal escape in string")
            self.i += 2
            return chr(int(char + digits, 8))
        if char == "u" and self.peek() == "{":
            end = self.text.find("}", self.i)
            digits = self.text[self.i + 1 : end] if end > 0 else ""
            if not 1 <= len(digits) <= 6 or any(d not in _HEX for d in digits):
                raise ConditionError(at, "invalid \\u{...} escape in string")
            self.i = end + 1
            return _rune(at, int(digits, 16))
        if char in ("x", "u", "U"):
            size = {"x": 2, "u": 4, "U": 8}[char]
            digits = self.text[self.i : self.i + size]
            if len(digits) < size or any(d not in _HEX for d in digits):
                raise ConditionError(at, f"invalid \\{char} escape in string")
            self.i += size
            return _rune(at, int(digits, 16))
        raise ConditionError(at, f"invalid escape \\{char} in string")

    def _raw(self) -> str:
        """A backtick string: no escapes; a doubled backtick stands for one."""
        start = self.i
        self.i += 1
        chars: list[str] = []
        while True:
            end = self.text.find("`", self.i)
            if end < 0:
                raise ConditionError(start, "string literal not terminated")
            chars.append(self.text[self.i : end])
            self.i = end + 1
            if self.peek() != "`":
                return "".join(chars)
            chars.append("`")
            self.i += 1


def _rune(offset: int, code: int) -> str:
    if code > _MAX_RUNE:
        raise ConditionError(offset, "escape beyond the last Unicode code point")
    # Go writes a surrogate code point as U+FFFD: it is no character of its own.
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
