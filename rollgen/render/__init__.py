"""Rendering: a plan's states as the files one commit writes (Kustomize overlays, Helm values), and revisions.

:mod:`~rollgen.render.renderer` picks the renderer for a release's source; the other modules are its parts.
"""
