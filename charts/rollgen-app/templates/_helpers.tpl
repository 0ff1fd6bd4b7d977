{{/* The application's name: .Values.app, or the release name. */}}
{{- define "rollgen-app.app" -}}
{{- default .Release.Name .Values.app -}}
{{- end -}}

{{/* A version in object names, as rollgen's slug(): lower case, runs of other characters become "-". */}}
{{- define "rollgen-app.slug" -}}
{{- regexReplaceAll "[^a-z0-9]+" (lower .) "-" | trimAll "-" -}}
{{- end -}}

{{/* Labels on every object: what the app's Services and budget select by. */}}
{{- define "rollgen-app.labels" -}}
app: {{ include "rollgen-app.app" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* A Service over the app's pods: (dict "root" $ "name" NAME "version" VERSION-or-nil). */}}
{{- define "rollgen-app.service" -}}
{{- $root := .root -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "rollgen-app.labels" $root | nindent 4 }}
spec:
  type: {{ $root.Values.service.type }}
  selector:
    app: {{ include "rollgen-app.app" $root }}
    {{- with .version }}
    version: {{ . | quote }}
    {{- end }}
  ports:
    {{- toYaml $root.Values.service.ports | nindent 4 }}
{{- end -}}

{{/* The ServiceAccount the pods run as; empty: the namespace's default (no serviceAccountName). */}}
{{- define "rollgen-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rollgen-app.app" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
