"""Release and pipeline specs: YAML read with positions, schema and semantic checks, the typed model.

:mod:`~rollgen.spec.validation` checks files without building anything (what
``rollgen validate`` runs); :mod:`~rollgen.spec.load` builds the typed
:class:`~rollgen.spec.model.Release` (and :class:`~rollgen.spec.pipeline.Pipeline`)
of a file the checks accept.
"""
