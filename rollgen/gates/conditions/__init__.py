"""Argo Rollouts' condition language for gate ``successCondition`` and ``failureCondition``."""

from rollgen.gates.conditions.parser import Condition, ConditionError, parse

__all__ = ["Condition", "ConditionError", "parse"]
