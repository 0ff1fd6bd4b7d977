# rollgen's image: the CLI with git (commits, pushes) and kubectl (Kustomize builds), run as a non-root user.
# Used by charts/rollgen; `docker build -t rollgen .` from the repository root.

# The extras the controller may need: kubernetes (the argocd, flux and kubernetes gates) and aws (the cloudWatch
# gate, SigV4 by botocore). A release whose chart comes from a Helm repository or an OCI registry needs real Helm
# too, a 250 MB native library: `docker build --build-arg EXTRAS=kubernetes,aws,helm -t rollgen .`
ARG EXTRAS=kubernetes,aws

FROM python:3.11-slim-trixie AS build
ARG EXTRAS
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rollgen ./rollgen
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[${EXTRAS}]"

FROM python:3.11-slim-trixie
ARG EXTRAS
# kubernetes-client is Debian's kubectl; trixie's (1.32, kustomize v5) builds what rollgen renders, bookworm's (1.20) does not.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git kubernetes-client ca-certificates openssh-client \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "rollgen[${EXTRAS}]" && rm -rf /wheels
# A fixed numeric user, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --gid 10001 rollgen && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp rollgen
USER 10001:10001
# The root filesystem may be read-only: git and Python write only under HOME (an emptyDir in the chart).
ENV HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /work
ENTRYPOINT ["rollgen"]
CMD ["--help"]
