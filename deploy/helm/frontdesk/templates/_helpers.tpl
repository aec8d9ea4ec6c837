{{- define "frontdesk.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "frontdesk.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The server pods only: the migration Job's pod shares the selector labels above (the
NetworkPolicy covers both), but the Service, PodDisruptionBudget and Deployment must not select it. */}}
{{- define "frontdesk.serverSelectorLabels" -}}
{{ include "frontdesk.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "frontdesk.labels" -}}
{{ include "frontdesk.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "frontdesk.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}

{{/* Secret files: every secret is a file under /run/secrets/frontdesk, read via <NAME>_FILE. */}}
{{- define "frontdesk.secretEnv" -}}
- name: DATABASE_URL_FILE
  value: /run/secrets/frontdesk/{{ .Values.secrets.keys.databaseUrl }}
- name: FRONTDESK_KEYS_FILE
  value: /run/secrets/frontdesk/{{ .Values.secrets.keys.frontdeskKeys }}
{{- end -}}

{{- define "frontdesk.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
