{{/* Names, labels and the pieces every service's objects share. */}}

{{- define "mozaiks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mozaiks.fullname" -}}
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

{{/* The services of the runtime: values key, component name (and command folder), port. */}}
{{- define "mozaiks.components" -}}
gateway: {component: gateway, port: 8000}
executor: {component: executor, port: 8001}
toolRunner: {component: tool-runner, port: 8002}
usageEmitter: {component: usage-emitter, port: 8003}
{{- end }}

{{- define "mozaiks.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mozaiks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mozaiks-runtime
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "mozaiks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mozaiks.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mozaiks.componentLabels" -}}
{{ include "mozaiks.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mozaiks.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mozaiks.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mozaiks.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "mozaiks.secretName" -}}
{{- default (printf "%s-secrets" (include "mozaiks.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/* The NATS URL: the external one, or the NATS chart's client Service of this release. */}}
{{- define "mozaiks.natsUrl" -}}
{{- if .Values.nats.url }}
{{- .Values.nats.url }}
{{- else if .Values.nats.enabled }}
{{- printf "nats://%s:4222" (include "mozaiks.natsFullname" .) }}
{{- end }}
{{- end }}

{{- define "mozaiks.natsFullname" -}}
{{- if .Values.nats.fullnameOverride }}
{{- .Values.nats.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains "nats" .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-nats" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Seconds a pod gets to stop: its preStop pause, the drain grace, and time to close. */}}
{{- define "mozaiks.terminationGrace" -}}
{{- add (int .preStop) (int .root.Values.config.shutdownGraceSeconds) 15 }}
{{- end }}

{{/* Settings that cannot work are refused at render time, with what to set instead. */}}
{{- define "mozaiks.validate" -}}
{{- if and (not .Values.nats.url) (not .Values.nats.enabled) }}
{{- fail "nats: set nats.url to your NATS (with JetStream), or nats.enabled=true to install the official NATS chart with this release" }}
{{- end }}
{{- if and .Values.nats.url .Values.nats.enabled }}
{{- fail "nats: set nats.url or nats.enabled, not both" }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- if not .Values.secrets.mongodbUri }}
{{- fail "secrets.mongodbUri: required (a mongodb:// replica set: every pod of every service shares it), or name a Secret holding MONGODB_URI in secrets.existingSecret" }}
{{- end }}
{{- if and (not .Values.secrets.jwtSecret) (not .Values.config.jwtPublicKey) (not .Values.config.jwtJwksUrl) }}
{{- fail "secrets.jwtSecret: required to verify launch tokens, unless config.jwtPublicKey or config.jwtJwksUrl is set, or secrets.existingSecret names a Secret holding JWT_SECRET" }}
{{- end }}
{{- end }}
{{- if and .Values.usageEmitter.webhooks.urls (not .Values.secrets.existingSecret) (not .Values.secrets.usageWebhookSecret) }}
{{- fail "secrets.usageWebhookSecret: required with usageEmitter.webhooks.urls (whsec_ and base64), or name a Secret holding USAGE_WEBHOOK_SECRET in secrets.existingSecret" }}
{{- end }}
{{- if and (not .Values.config.monetizationEnabled) .Values.usageEmitter.webhooks.urls }}
{{- fail "usageEmitter.webhooks.urls: needs config.monetizationEnabled=true: webhooks deliver the usage events published for billing" }}
{{- end }}
{{- if and (eq .Values.workflows.source "configMap") (not .Values.workflows.configMap.name) (not .Values.workflows.configMap.files) }}
{{- fail "workflows.configMap: give files (path: content) or the name of an existing ConfigMap with items" }}
{{- end }}
{{- if and (eq .Values.workflows.source "volume") (not .Values.workflows.volume) }}
{{- fail "workflows.volume: a volume source is required when workflows.source=volume" }}
{{- end }}
{{- end }}

{{/* Default topology spread of a component over zones and nodes. */}}
{{- define "mozaiks.topologySpread" -}}
{{- $c := .config.topologySpreadConstraints }}
{{- if eq (toString $c) "default" }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "mozaiks.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "mozaiks.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- else if $c }}
{{- toYaml $c }}
{{- end }}
{{- end }}

{{/* The JetStream stream of run nudges and the executors' durable consumer on it (as the bus names them). */}}
{{- define "mozaiks.runStream" -}}
{{- printf "%s_RUNS" (regexReplaceAll "[^A-Z0-9_]" (upper .Values.config.subjectPrefix) "_") }}
{{- end }}
{{- define "mozaiks.runConsumer" -}}
{{- printf "executors_%s" (printf "%s.run.*.*" .Values.config.subjectPrefix | sha256sum | trunc 10) }}
{{- end }}

{{/*
The paths routed from outside to the gateway: its chat sockets and POST /chat/start; the console
and the control plane's API over chats (/v1) only when the values (`console`, `chatsApi`) say so.
Given the Ingress's or the HTTPRoute's values; a YAML list of {path, pathType}.
*/}}
{{- define "mozaiks.publicPaths" -}}
- path: /ws
  pathType: Prefix
- path: /chat/start
  pathType: Exact
{{- if .console }}
- path: /console
  pathType: Prefix
{{- end }}
{{- if .chatsApi }}
- path: /v1
  pathType: Prefix
{{- end }}
{{- end }}
