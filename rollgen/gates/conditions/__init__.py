"""Argo Rollouts' condition language: the expr-lang that ``successCondition`` and ``failureCondition`` are written in.

A condition reads one variable, ``result`` (what the gate measured: a
Prometheus scalar or vector, the JSON an HTTP gate picked, a string), and
must come out true or false. It is parsed, type-checked and interpreted here,
never handed to ``eval``, with expr-lang's rules and Argo Rollouts'
environment, so a condition written for Argo Rollouts means the same here:

    >>> from rollgen.gates.conditions.evaluate import evaluate
    >>> evaluate(parse("len(result[0].Values) >= 5 and all(result[0].Values, {# <= 0.01})"),
    ...          [{"Values": [0.001, 0.0, 0.002, 0.01, 0.004]}])
    True

The stages, each its own module: :mod:`.lexer` (tokens), :mod:`.parser` (the
tree, and what rollgen refuses), :mod:`.checker` (expr-lang's static types),
:mod:`.evaluate` with :mod:`.operators` and :mod:`.builtins` (running it,
bounded). Parsing is light (``validate`` parses every condition): only
evaluation loads the regex engine.
"""

from rollgen.gates.conditions.lexer import ConditionError
from rollgen.gates.conditions.parser import Condition, parse

__all__ = ["Condition", "ConditionError", "parse"]
