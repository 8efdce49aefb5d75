{{/* Names: at most 52 characters, so that a pod's controller-revision-hash label fits in 63. */}}
{{- define "mwe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "mwe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mwe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mwe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mwe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mwe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.job }}
{{- end }}

{{- define "mwe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mwe.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The config files in the order the service merges them (later ones win): config, the layers by name,
the chart's Secret, an existing Secret, and last the chart's own layer (metrics_port), which the
values schema keeps out of every other layer.
*/}}
{{- define "mwe.configPaths" -}}
- /etc/mw-enrich/config/config.yaml
{{- range $name := keys .Values.configLayers | sortAlpha }}
- /etc/mw-enrich/config/layer-{{ $name }}.yaml
{{- end }}
{{- if .Values.secretConfig }}
- /etc/mw-enrich/secret/config.yaml
{{- end }}
{{- if .Values.existingSecret.name }}
- /etc/mw-enrich/existing-secret/config.yaml
{{- end }}
- /etc/mw-enrich/config/chart.yaml
{{- end }}

{{/*
runtime.drain_timeout_ms as the service resolves it from the layers the chart can read (secrets may
not hold runtime); 30000 is the service's default (a test compares it with the declaration).
*/}}
{{- define "mwe.drainTimeoutMs" -}}
{{- $drain := 30000 }}
{{- $layers := list .Values.config }}
{{- range $name := keys .Values.configLayers | sortAlpha }}
{{- $layers = append $layers (get $.Values.configLayers $name) }}
{{- end }}
{{- range $layer := $layers }}
{{- $runtime := (default dict $layer).runtime | default dict }}
{{- if hasKey $runtime "drain_timeout_ms" }}
{{- $drain = $runtime.drain_timeout_ms }}
{{- end }}
{{- end }}
{{- $drain | int64 }}
{{- end }}

{{/* Longer than the drain: a pod killed before its drain ends repeats what a crash repeats. */}}
{{- define "mwe.terminationGracePeriodSeconds" -}}
{{- $drainMs := include "mwe.drainTimeoutMs" . | int64 }}
{{- $drainSeconds := div (add $drainMs 999) 1000 }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $drainSeconds .Values.shutdownMarginSeconds }}
{{- else }}
{{- $grace := .Values.terminationGracePeriodSeconds | int64 }}
{{- if le (mul $grace 1000) $drainMs }}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be longer than runtime.drain_timeout_ms (%d ms): the pod would be killed before its records in flight finish; leave it null to derive it" $grace $drainMs) }}
{{- end }}
{{- $grace }}
{{- end }}
{{- end }}
