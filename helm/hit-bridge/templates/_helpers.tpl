{{/* Names, labels and the list of Deployments, shared by every template. */}}

{{- define "hit-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hit-bridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hit-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hit-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hit-bridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hit-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hit-bridge
{{- end -}}

{{- define "hit-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hit-bridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "hit-bridge.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The Deployments to render, as YAML: component name -> { roles, settings }. roles: all gives one
component "all" running workloads.all.roles; roles: split one component per entry of
workloads.split, whose ROLES is its own name.
*/}}
{{- define "hit-bridge.components" -}}
{{- $components := dict -}}
{{- if eq .Values.roles "split" -}}
{{- range $role, $settings := .Values.workloads.split -}}
{{- $_ := set $components $role (dict "roles" $role "settings" $settings) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $components "all" (dict "roles" .Values.workloads.all.roles "settings" .Values.workloads.all) -}}
{{- end -}}
{{- toYaml $components -}}
{{- end -}}

{{/* Components that serve the HTTP API (and so take traffic from the ingress controller). */}}
{{- define "hit-bridge.servesApi" -}}
{{- if has "api" (splitList "," .roles) -}}true{{- end -}}
{{- end -}}

{{/* A NetworkPolicy egress rule to one peer: CIDRs and/or selectors on its ports. */}}
{{- define "hit-bridge.egressPeer" -}}
{{- $peer := . -}}
{{- $hasSelector := or (not (empty $peer.podSelector)) (not (empty $peer.namespaceSelector)) -}}
{{- if or $peer.cidrs $hasSelector }}
- to:
    {{- range $peer.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- if $hasSelector }}
    - namespaceSelector: {{- toYaml (default dict $peer.namespaceSelector) | nindent 8 }}
      {{- if $peer.podSelector }}
      podSelector: {{- toYaml $peer.podSelector | nindent 8 }}
      {{- end }}
    {{- end }}
  ports:
    {{- range $peer.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end }}
{{- end -}}

{{/*
The secret files: variable -> { secret, key }, from secrets.keys (existingSecret) and
secrets.fromOtherSecrets, the latter winning. Rendered as YAML for fromYaml.
*/}}
{{- define "hit-bridge.secretFiles" -}}
{{- $files := dict -}}
{{- $s := .Values.secrets -}}
{{- if $s.existingSecret -}}
{{- range $name, $key := $s.keys -}}
{{- if $key -}}
{{- $_ := set $files $name (dict "secret" $s.existingSecret "key" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $ref := $s.fromOtherSecrets -}}
{{- $_ := set $files $name (dict "secret" $ref.name "key" $ref.key) -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}
