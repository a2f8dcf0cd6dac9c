{{/* Names and labels shared by every object of the chart. */}}

{{- define "linkvault.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "linkvault.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "linkvault.selectorLabels" -}}
app.kubernetes.io/name: {{ include "linkvault.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "linkvault.labels" -}}
{{ include "linkvault.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "linkvault.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "linkvault.replicas" -}}
{{- if eq .Values.database.driver "sqlite" -}}1{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* Checks the values that would otherwise give a broken release. */}}
{{- define "linkvault.validate" -}}
{{- if not (has .Values.database.driver (list "postgres" "sqlite")) -}}
{{- fail (printf "database.driver must be postgres or sqlite, not %q" .Values.database.driver) -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- fail "existingSecret must name the Secret holding master.key (and database-url for postgres); see values.yaml" -}}
{{- end -}}
{{- if not (hasPrefix "http" .Values.publicURL) -}}
{{- fail "publicURL must be the absolute https URL linkvault is reached at" -}}
{{- end -}}
{{- end -}}

{{/* The pod security context: the image's non-root user, no privilege escalation. */}}
{{- define "linkvault.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "linkvault.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Environment shared by the server and the migration Job. */}}
{{- define "linkvault.env" -}}
- name: LINKVAULT_DATABASE_DRIVER
  value: {{ .Values.database.driver | quote }}
{{- if eq .Values.database.driver "postgres" }}
- name: LINKVAULT_DATABASE_URL_FILE
  value: /run/secrets/linkvault/database-url
{{- else }}
- name: LINKVAULT_SQLITE_PATH
  value: /data/linkvault.db
{{- end }}
- name: LINKVAULT_MASTER_KEY_FILE
  value: /run/secrets/linkvault/master.key
# A secret volume's files belong to root, readable by the pod's fsGroup (kubelet adds
# group read for it): the only way a non-root process reads them. That group is this
# pod's alone, so the key file's group-read bit is accepted here.
- name: LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE
  value: "true"
- name: LINKVAULT_PUBLIC_URL
  value: {{ .Values.publicURL | quote }}
- name: LINKVAULT_LISTEN_ADDR
  value: "0.0.0.0:8080"
- name: LINKVAULT_ADMIN_ADDR
  value: "0.0.0.0:9180"
- name: LINKVAULT_LOG_FORMAT
  value: json
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Volumes shared by the server and the migration Job. "optional: false" is spelled
out: podman kube play (the documented local equivalent) needs it. */}}
{{- define "linkvault.volumes" -}}
- name: secrets
  secret:
    secretName: {{ .Values.existingSecret }}
    defaultMode: 0400
    optional: false
- name: tmp
  emptyDir: {}
- name: data
{{- if eq .Values.database.driver "sqlite" }}
  persistentVolumeClaim:
    claimName: {{ include "linkvault.fullname" . }}-data
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "linkvault.volumeMounts" -}}
- name: secrets
  mountPath: /run/secrets/linkvault
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /data
{{- end -}}
