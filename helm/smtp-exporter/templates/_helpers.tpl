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

{{/* Name of the Secret with the web config (key web.yml); empty when webConfig is off. */}}
{{- define "smtp-exporter.webConfigSecretName" -}}
{{- if .Values.webConfig.enabled -}}
{{- if .Values.webConfig.existingSecret -}}
{{- .Values.webConfig.existingSecret -}}
{{- else -}}
{{- $_ := required "webConfig.config (the web config YAML) or webConfig.existingSecret is required with webConfig.enabled" .Values.webConfig.config -}}
{{- printf "%s-web" (include "smtp-exporter.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The kubelet probes' handler for `path`: GET over HTTP or HTTPS, or the TCP port when the web
config demands client certificates (the kubelet cannot present one). */}}
{{- define "smtp-exporter.probeHandler" -}}
{{- $web := .root.Values.webConfig -}}
{{- if and $web.enabled $web.clientCertificateRequired -}}
tcpSocket:
  port: {{ .root.Values.portName }}
{{- else -}}
httpGet:
  path: {{ .path }}
  port: {{ .root.Values.portName }}
  {{- if and $web.enabled $web.tls }}
  scheme: HTTPS
  {{- end }}
{{- end -}}
{{- end -}}

{{/* The scrape scheme of the monitors: the value given, else https when the web config has TLS. */}}
{{- define "smtp-exporter.scrapeScheme" -}}
{{- if .monitor.scheme -}}
{{- .monitor.scheme -}}
{{- else if and .root.Values.webConfig.enabled .root.Values.webConfig.tls -}}
https
{{- else -}}
http
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
    {{- if .Values.webConfig.enabled }}
    - --web.config.file={{ .Values.webConfig.mountPath }}/web.yml
    {{- end }}
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
    {{- include "smtp-exporter.probeHandler" (dict "root" . "path" "/-/healthy") | nindent 4 }}
    {{- with omit .Values.livenessProbe "enabled" }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- if .Values.readinessProbe.enabled }}
  readinessProbe:
    {{- include "smtp-exporter.probeHandler" (dict "root" . "path" "/-/ready") | nindent 4 }}
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
    {{- if .Values.webConfig.enabled }}
    - name: smtp-exporter-web-config
      mountPath: {{ .Values.webConfig.mountPath }}
      readOnly: true
    {{- if .Values.webConfig.tlsSecret }}
    - name: smtp-exporter-web-tls
      mountPath: {{ .Values.webConfig.mountPath }}/tls
      readOnly: true
    {{- end }}
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- if .Values.configReloader.enabled }}
{{- if .Values.webConfig.enabled }}
{{- fail "configReloader cannot reach /-/reload through the web config's TLS or basic auth: leave configReloader off (config changes then roll the pods)" }}
{{- end }}
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
{{- with include "smtp-exporter.webConfigSecretName" . }}
- name: smtp-exporter-web-config
  secret:
    secretName: {{ . }}
    items:
      - key: web.yml
        path: web.yml
    defaultMode: {{ ternary 292 288 (eq $.Values.mode "sidecar") }}
{{- end }}
{{- if and .Values.webConfig.enabled .Values.webConfig.tlsSecret }}
- name: smtp-exporter-web-tls
  secret:
    secretName: {{ .Values.webConfig.tlsSecret }}
    defaultMode: {{ ternary 292 288 (eq $.Values.mode "sidecar") }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Names of the config's /probe modules that carry credentials: a `[module.NAME.auth]` table
(or `[module.NAME.auth.oauth2]`), or an `auth` key inside a `[module.NAME]` table. Read from the
rendered TOML text, table by table; a config from existingConfigMap is not seen. */}}
{{- define "smtp-exporter.credentialedModules" -}}
{{- $names := list -}}
{{- range $chunk := regexSplit "(?m)^[ \\t]*\\[" (include "smtp-exporter.config" .) -1 -}}
{{- $header := regexFind "^[^\\]\\n]*\\]" $chunk -}}
{{- if regexMatch "^[ \\t]*module[ \\t]*\\." $header -}}
{{- $path := trimSuffix "]" $header | trim -}}
{{- if or (regexMatch "\\.[ \\t]*auth[ \\t]*(\\.|$)" $path) (regexMatch "(?m)^[ \\t]*\"?auth\"?[ \\t]*[=.]" (regexReplaceAll "^[^\\n]*\\n?" $chunk "")) -}}
{{- $names = append $names (regexReplaceAll "^[ \\t]*module[ \\t]*\\.[ \\t]*(\"[^\"]*\"|[^. \\t]+).*$" $path "${1}") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $names | uniq | join ", " -}}
{{- end -}}

{{/* A /probe module with credentials makes whoever reaches the web port able to start logins
with the application's account from its egress IP (docs/security.md). Refuse to render one on a
web port open to anyone, unless allowUnprotectedCredentialedModules says so: protected means a
web config with basic_auth_users or required client certificates (or an existingSecret, which the
chart cannot read), or, in standalone mode, a NetworkPolicy that names who may connect. */}}
{{- define "smtp-exporter.credentialedModuleGuard" -}}
{{- $modules := include "smtp-exporter.credentialedModules" . -}}
{{- if and $modules (not .Values.allowUnprotectedCredentialedModules) -}}
{{- $web := .Values.webConfig -}}
{{- $webAuth := and $web.enabled (or $web.existingSecret (regexMatch "(?m)^[ \\t]*basic_auth_users[ \\t]*:" ($web.config | default "")) (regexMatch "client_auth_type[ \\t]*:[ \\t]*[\"']?Require" ($web.config | default ""))) -}}
{{- $policy := and .Values.networkPolicy.enabled (ne .Values.mode "sidecar") .Values.networkPolicy.ingressFrom -}}
{{- if not (or $webAuth $policy) -}}
{{- fail (printf "config has /probe modules with credentials (%s) and the web port is open to anyone who reaches it: enable webConfig with basic_auth_users or required client certificates, or (standalone) networkPolicy with ingressFrom, or set allowUnprotectedCredentialedModules: true (docs/security.md)" $modules) -}}
{{- end -}}
{{- end -}}
{{- end -}}
