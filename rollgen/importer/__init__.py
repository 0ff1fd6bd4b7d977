"""``rollgen import``: an Argo Rollouts Rollout or a Flagger Canary as a release spec and a Kustomize base.

The converters are pure: positioned documents in, a :class:`Conversion` out
(the spec as plain data, the base's files, and every note about what could
not be expressed, each at ``file:line:col``). :mod:`rollgen.importer.convert`
picks the converter and writes the result; :mod:`rollgen.cli.importer` is the command.
"""
