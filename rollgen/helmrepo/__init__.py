"""Published Helm charts: reading a repository's index, pulling an archive (bounded, cached), rendering it.

``index`` and ``archive`` are pure (bytes in, values out); ``pull`` talks to
Helm repositories and OCI registries and keeps the cache; ``template``
renders a chart with real Helm (helm-python-sdk, the ``rollgen[helm]``
extra), imported only when a chart is rendered.
"""
