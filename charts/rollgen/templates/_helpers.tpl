{{- define "rollgen.name" -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "rollgen.labels" -}}
app.kubernetes.io/name: rollgen
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "rollgen.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rollgen.name" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Hands git the mounted username and password on request: no secret in argv, env or .git/config. */}}
{{- define "rollgen.gitEnv" -}}
- name: HOME
  value: /tmp
# A missing credential fails the clone or push at once instead of waiting for a terminal.
- name: GIT_TERMINAL_PROMPT
  value: "0"
- name: GIT_AUTHOR_NAME
  value: {{ .Values.git.author.name | quote }}
- name: GIT_AUTHOR_EMAIL
  value: {{ .Values.git.author.email | quote }}
- name: GIT_COMMITTER_NAME
  value: {{ .Values.git.author.name | quote }}
- name: GIT_COMMITTER_EMAIL
  value: {{ .Values.git.author.email | quote }}
{{- if .Values.git.credentialsSecret }}
- name: GIT_CONFIG_COUNT
  value: "1"
- name: GIT_CONFIG_KEY_0
  value: credential.helper
- name: GIT_CONFIG_VALUE_0
  value: '!f() { test "$1" = get || exit 0; echo "username=$(cat /etc/rollgen/git/username)"; echo "password=$(cat /etc/rollgen/git/password)"; }; f'
{{- end }}
{{- end -}}

{{- define "rollgen.mounts" -}}
- name: work
  mountPath: /work
- name: tmp
  mountPath: /tmp
{{- if .Values.git.credentialsSecret }}
- name: git-credentials
  mountPath: /etc/rollgen/git
  readOnly: true
{{- end }}
{{- with .Values.volumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The pod template's metadata: the chart's labels (and extra ones, as (dict "root" $ "labels" MAP)), podLabels, podAnnotations. */}}
{{- define "rollgen.podMetadata" -}}
labels:
  {{- include "rollgen.labels" .root | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .root.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The pod: the extra init containers, one init container cloning each repository, one rollgen container per
     repository, the extra containers. Arguments: (dict "root" $ "command" "advance"|"run"|"validate"
     "shard" "INDEX/COUNT"-or-"" "indexed" BOOL "test" BOOL); a test Pod has no extra containers, which
     would keep it running. */}}
{{- define "rollgen.podSpec" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
serviceAccountName: {{ include "rollgen.serviceAccount" $root }}
automountServiceAccountToken: true
securityContext:
  {{- toYaml $values.podSecurityContext | nindent 2 }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- /* Without a selector a constraint counts no pods: spread this release's. */}}
  {{- $constraint := deepCopy . }}
  {{- if not $constraint.labelSelector }}
  {{- $_ := set $constraint "labelSelector" (dict "matchLabels" (dict "app.kubernetes.io/instance" $root.Release.Name)) }}
  {{- end }}
  - {{- toYaml $constraint | nindent 4 }}
  {{- end }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
initContainers:
{{- with $values.initContainers }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- range $repo := $values.repositories }}
  - name: clone-{{ $repo.name }}
    image: "{{ $values.image.repository }}:{{ default $root.Chart.AppVersion $values.image.tag }}"
    imagePullPolicy: {{ $values.image.pullPolicy }}
    command: [git]
    args: [clone, --quiet, --branch, {{ $repo.branch | default "main" | quote }}, --, {{ required "repositories[].url is required" $repo.url | quote }}, /work/repos/{{ $repo.name }}]
    env:
      {{- include "rollgen.gitEnv" $root | nindent 6 }}
    volumeMounts:
      {{- include "rollgen.mounts" $root | nindent 6 }}
    resources:
      {{- toYaml $values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $values.securityContext | nindent 6 }}
{{- end }}
containers:
{{- range $repo := $values.repositories }}
  - name: rollgen-{{ $repo.name }}
    image: "{{ $values.image.repository }}:{{ default $root.Chart.AppVersion $values.image.tag }}"
    imagePullPolicy: {{ $values.image.pullPolicy }}
    # Spec paths are relative to the repository, as in a checkout.
    workingDir: /work/repos/{{ $repo.name }}
    args:
      - {{ $.command }}
      {{- range $repo.specs }}
      - {{ . | quote }}
      {{- end }}
      - --repo
      - /work/repos/{{ $repo.name }}
      {{- if $.shard }}
      - --shard
      - {{ $.shard | quote }}
      {{- end }}
      {{- range $values.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    env:
      {{- include "rollgen.gitEnv" $root | nindent 6 }}
      {{- if $.indexed }}
      - name: JOB_COMPLETION_INDEX
        valueFrom:
          fieldRef:
            fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
      {{- end }}
      {{- if $values.forge.tokenSecret.name }}
      - name: {{ $values.forge.tokenSecret.env }}
        valueFrom:
          secretKeyRef:
            name: {{ $values.forge.tokenSecret.name }}
            key: {{ $values.forge.tokenSecret.key }}
      {{- end }}
    {{- with $values.envFromSecrets }}
    envFrom:
      {{- range . }}
      - secretRef:
          name: {{ . }}
      {{- end }}
    {{- end }}
    volumeMounts:
      {{- include "rollgen.mounts" $root | nindent 6 }}
    resources:
      {{- toYaml $values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $values.securityContext | nindent 6 }}
    {{- if eq $.command "run" }}
    # rollgen run serves no port: the probes check that the repository it works on is intact.
    readinessProbe:
      exec:
        command: [git, -C, /work/repos/{{ $repo.name }}, rev-parse, --verify, --quiet, HEAD]
      periodSeconds: 30
    livenessProbe:
      exec:
        command: [git, -C, /work/repos/{{ $repo.name }}, rev-parse, --verify, --quiet, HEAD]
      periodSeconds: 60
      failureThreshold: 3
    {{- end }}
{{- end }}
{{- if and $values.extraContainers (not .test) }}
  {{- toYaml $values.extraContainers | nindent 2 }}
{{- end }}
volumes:
  - name: work
    emptyDir: {}
  - name: tmp
    emptyDir: {}
{{- if $values.git.credentialsSecret }}
  - name: git-credentials
    secret:
      secretName: {{ $values.git.credentialsSecret }}
      defaultMode: 0440
{{- end }}
{{- with $values.volumes }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- /* Exactly what rollgen's gates read (rollgen/gates/*.py ACCESS; patch: REFRESH_ACCESS, RECONCILE_ACCESS). */}}
{{- define "rollgen.rules" -}}
{{- $verbs := ternary (list "get" "patch") (list "get") .Values.rbac.requestRefresh -}}
- apiGroups: [argoproj.io]
  resources: [applications]
  verbs: {{ toJson $verbs }}
- apiGroups: [kustomize.toolkit.fluxcd.io]
  resources: [kustomizations]
  verbs: {{ toJson $verbs }}
- apiGroups: [helm.toolkit.fluxcd.io]
  resources: [helmreleases]
  verbs: {{ toJson $verbs }}
{{- if .Values.rbac.requestRefresh }}
- apiGroups: [source.toolkit.fluxcd.io]
  resources: [gitrepositories]
  verbs: [get, patch]
{{- end }}
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
{{- end -}}
