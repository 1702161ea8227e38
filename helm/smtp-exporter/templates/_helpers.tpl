{{/*
Helpers of the smtp-exporter chart.

The templates used by sidecar mode ("smtp-exporter.container", "smtp-exporter.volumes",
"smtp-exporter.configChecksum") and everything they call read only .Values and .Release, so an
application chart that has this chart as a dependency can call them with

  (dict "Values" (index .Values "smtp-exporter") "Release" .Release)

and get the same names as this chart's own ConfigMap and Secret.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "smtp-exporter.name" -}}
{{- default "smtp-exporter" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of the objects: fullnameOverride, else <release>-<name> (just the release name when it
already contains the name). */}}
{{- define "smtp-exporter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "smtp-exporter.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* helm.sh/chart label value. */}}
{{- define "smtp-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select this release's pods; never change them after install. */}}
{{- define "smtp-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "smtp-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels of every object. */}}
{{- define "smtp-exporter.labels" -}}
helm.sh/chart: {{ include "smtp-exporter.chart" . }}
{{ include "smtp-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: exporter
app.kubernetes.io/part-of: smtp-exporter
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The exporter image reference. */}}
{{- define "smtp-exporter.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required" .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Name of the ConfigMap the exporter reads. */}}
{{- define "smtp-exporter.configMapName" -}}
{{- default (include "smtp-exporter.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/* Name of the Secret with the secret files; empty when there is none. */}}
{{- define "smtp-exporter.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else if .Values.secrets -}}
{{- include "smtp-exporter.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The rendered TOML config. */}}
{{- define "smtp-exporter.config" -}}
{{- tpl (required "config is required (the exporter's TOML configuration), or set existingConfigMap" .Values.config) . -}}
{{- end -}}

{{/* Checksum of the rendered config, for a pod annotation that rolls the pods when it changes.
Empty when the config comes from existingConfigMap or the reloader applies changes in place. */}}
{{- define "smtp-exporter.configChecksum" -}}
{{- if and (not .Values.existingConfigMap) (not .Values.configReloader.enabled) -}}
{{- include "smtp-exporter.config" . | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* Where the ConfigMap is mounted: the directory of the image's --config.file. */}}
{{- define "smtp-exporter.configDir" -}}
/etc/smtp_exporter
{{- end -}}

{{/*
The exporter container (and the config reloader's, when enabled), as YAML list items for a pod's
`containers:`. Use with nindent at the list's indentation, e.g.

  containers:
    - name: app
      ...
    {{- include "smtp-exporter.container" $ctx | nindent 4 }}
*/}}
{{/* The service account the pods run as; empty: the namespace's default. */}}
{{- define "smtp-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "smtp-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default .Values.serviceAccountName .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "smtp-exporter.container" -}}
- name: smtp-exporter
  image: {{ include "smtp-exporter.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - --web.listen-address={{ .Values.listenHost }}:{{ .Values.port }}
    - --web.telemetry-path={{ .Values.telemetryPath }}
    - --log.level={{ .Values.logLevel }}
    - --log.format={{ .Values.logFormat }}
    - --probe.max-in-flight={{ .Values.maxInFlight }}
    {{- if eq .Values.mode "statefulset" }}
    - --shard.count={{ .Values.replicaCount }}
    - --shard.index-from-hostname
    {{- end }}
    {{- range .Values.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  {{- with .Values.env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.envFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: {{ .Values.portName }}
      containerPort: {{ .Values.port }}
      protocol: TCP
  {{- if .Values.livenessProbe.enabled }}
  livenessProbe:
    httpGet:
      path: /-/healthy
      port: {{ .Values.portName }}
    {{- with omit .Values.livenessProbe "enabled" }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- if .Values.readinessProbe.enabled }}
  readinessProbe:
    httpGet:
      path: /-/ready
      port: {{ .Values.portName }}
    {{- with omit .Values.readinessProbe "enabled" }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.containerSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: smtp-exporter-config
      mountPath: {{ include "smtp-exporter.configDir" . }}
      readOnly: true
    {{- if include "smtp-exporter.secretName" . }}
    - name: smtp-exporter-secrets
      mountPath: {{ .Values.secretsMountPath }}
      readOnly: true
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- if .Values.configReloader.enabled }}
- name: smtp-exporter-config-reloader
  image: {{ printf "%s:%s" .Values.configReloader.image.repository .Values.configReloader.image.tag | quote }}
  imagePullPolicy: {{ .Values.configReloader.image.pullPolicy }}
  args:
    - --volume-dir={{ include "smtp-exporter.configDir" . }}
    - --webhook-url=http://127.0.0.1:{{ .Values.port }}/-/reload
    - --webhook-method=POST
    - --web.listen-address={{ .Values.configReloader.listenAddress }}
  {{- with .Values.configReloader.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.containerSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: smtp-exporter-config
      mountPath: {{ include "smtp-exporter.configDir" . }}
      readOnly: true
{{- end }}
{{- end -}}

{{/*
The volumes the exporter container mounts, as YAML list items for a pod's `volumes:`.
*/}}
{{- define "smtp-exporter.volumes" -}}
- name: smtp-exporter-config
  configMap:
    name: {{ include "smtp-exporter.configMapName" . }}
{{- with include "smtp-exporter.secretName" . }}
- name: smtp-exporter-secrets
  secret:
    secretName: {{ . }}
    {{- /* 0440 (288) with the standalone pod's fsGroup; 0444 (292) in someone else's pod */}}
    {{- $mode := $.Values.secretsDefaultMode }}
    {{- if kindIs "invalid" $mode }}
    {{- $mode = ternary 292 288 (eq $.Values.mode "sidecar") }}
    {{- end }}
    defaultMode: {{ $mode }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}
