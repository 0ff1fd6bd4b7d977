"""Release specs the tests write into a repository next to the example base (``examples/apps/web/base``)."""

from __future__ import annotations

# The example base's release: its Deployment is web; the base is named at line 10, column 30.
KUSTOMIZE_SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {name: web}
spec:
  namespace: prod
  replicas: 4
  image: ghcr.io/example/web
  stable: "1.0.0"
  version: "1.1.0"
  source: {kustomize: {base: apps/web/base}}
  output: {path: out/web}
  strategy: {recreate: {}}
  liveness: {assumeAfter: 1m}
"""
