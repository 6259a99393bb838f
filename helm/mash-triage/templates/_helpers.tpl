{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "mash-triage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name if it already contains the chart name. */}}
{{- define "mash-triage.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mash-triage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "mash-triage.labels" -}}
helm.sh/chart: {{ include "mash-triage.chart" . }}
{{ include "mash-triage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels; each workload adds app.kubernetes.io/component (api, migrate, worker). */}}
{{- define "mash-triage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mash-triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mash-triage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mash-triage.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mash-triage.secretName" -}}
{{- default (include "mash-triage.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "mash-triage.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* http.public_base_url: the configured one, else derived from the ingress or the Service. */}}
{{- define "mash-triage.publicBaseUrl" -}}
{{- if .Values.config.publicBaseUrl }}
{{- .Values.config.publicBaseUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) (first .Values.ingress.hosts).host }}
{{- else }}
{{- printf "http://%s.%s.svc:%d" (include "mash-triage.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}
{{- end }}

{{/* Refuse values the service would reject at start-up, or that would cut the SIGTERM drain short. */}}
{{- define "mash-triage.validate" -}}
{{- $prefix := .Values.config.redisKeyPrefix }}
{{- if not (regexMatch "^\\S+:$" $prefix) }}
{{- fail "config.redisKeyPrefix must be non-empty, end with ':' and contain no spaces" }}
{{- end }}
{{- if not (regexMatch "^https?://.*[^/]$" (include "mash-triage.publicBaseUrl" .)) }}
{{- fail "config.publicBaseUrl must be an http(s) URL without a trailing slash" }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add .Values.preStopSleepSeconds .Values.config.shutdownGraceSeconds | int) }}
{{- fail "terminationGracePeriodSeconds must exceed preStopSleepSeconds + config.shutdownGraceSeconds" }}
{{- end }}
{{- end }}

{{/* Environment shared by every mash-triage container (serve, migrate, worker). */}}
{{- define "mash-triage.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mash-triage.secretName" . }}
      key: {{ .Values.secrets.databaseUrlKey }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mash-triage.secretName" . }}
      key: {{ .Values.secrets.redisUrlKey }}
- name: MASH_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.containerPort) | quote }}
# The metrics listener: on all interfaces, since Prometheus scrapes the pod's IP (the service's default
# is loopback only). The port is the container port `metrics`, never on the Service or the Ingress.
- name: MASH_METRICS__LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
- name: MASH_REDIS__KEY_PREFIX
  value: {{ .Values.config.redisKeyPrefix | quote }}
- name: MASH_HTTP__PUBLIC_BASE_URL
  value: {{ include "mash-triage.publicBaseUrl" . | quote }}
- name: MASH_HTTP__SHUTDOWN_GRACE_SECONDS
  value: {{ .Values.config.shutdownGraceSeconds | quote }}
{{- if or (lt (int .Values.config.keyCacheSeconds) 0) (gt (int .Values.config.keyCacheSeconds) 60) }}
{{- fail "config.keyCacheSeconds must be from 0 to 60" }}
{{- end }}
- name: MASH_HTTP__KEY_CACHE_SECONDS
  value: {{ .Values.config.keyCacheSeconds | quote }}
- name: MASH_TELEMETRY__LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
- name: MASH_WEBHOOKS__ALLOW_HOSTS
  value: {{ join "," .Values.config.webhookAllowHosts | quote }}
- name: MASH_WORKER__IN_SERVE
  value: {{ (not .Values.worker.enabled) | quote }}
{{- with .Values.config.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Annotations on API and worker pods: the prometheus.io/* scrape hints (metrics.podAnnotations),
then podAnnotations, which win on a clash. */}}
{{- define "mash-triage.podAnnotations" -}}
{{- $annotations := dict }}
{{- if .Values.metrics.podAnnotations }}
{{- $_ := set $annotations "prometheus.io/scrape" "true" }}
{{- $_ := set $annotations "prometheus.io/port" (toString .Values.metrics.port) }}
{{- $_ := set $annotations "prometheus.io/path" "/metrics" }}
{{- end }}
{{- with merge (deepCopy .Values.podAnnotations) $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}
