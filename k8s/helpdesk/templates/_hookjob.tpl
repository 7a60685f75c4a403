{{/*
A hook Job running one daemon's image in a one-shot mode:
(dict "root" $ "name" "migrate-auth" "daemon" "auth" "args" (list "--migrate")
      "hook" "pre-install,pre-upgrade" "weight" 0 "bootstrap" false)
It gets the owner URL (migrations) and the app URL from the hook Secret.
*/}}
{{- define "helpdesk.hookJob" -}}
{{- $root := .root -}}
{{- $d := index (include "helpdesk.daemons" $root | fromYaml) .daemon -}}
{{- $m := $root.Values.migrations -}}
{{- $secret := include "helpdesk.hookSecretName" $root -}}
{{- $u := include "helpdesk.envName" .daemon -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "helpdesk.fullname" $root }}-{{ .name }}
  labels: {{- include "helpdesk.labels" (dict "root" $root "component" "migrate") | nindent 4 }}
  annotations:
    "helm.sh/hook": {{ .hook }}
    "helm.sh/hook-weight": {{ .weight | quote }}
    "helm.sh/hook-delete-policy": before-hook-creation
spec:
  backoffLimit: {{ $m.backoffLimit }}
  activeDeadlineSeconds: {{ $m.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels: {{- include "helpdesk.labels" (dict "root" $root "component" "migrate") | nindent 8 }}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext: {{- include "helpdesk.podSecurityContext" $root | nindent 8 }}
      {{- with include "helpdesk.scheduling" $root | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "helpdesk.image" (dict "root" $root "image" $d.image) | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: {{- toYaml .args | nindent 12 }}
          securityContext: {{- include "helpdesk.containerSecurityContext" $root | nindent 12 }}
          env:
            - {name: HD_ENV, value: {{ $root.Values.env | quote }}}
            - {name: HD_LOG_LEVEL, value: {{ $root.Values.logLevel | quote }}}
            - {name: HD_{{ $u }}_SQL_DIR, value: {{ $d.sqlDir | quote }}}
            - name: HD_DATABASE_ADMIN_URL
              valueFrom: {secretKeyRef: {name: {{ $secret }}, key: database-admin-url}}
            - name: HD_DATABASE_URL
              valueFrom: {secretKeyRef: {name: {{ $secret }}, key: database-url}}
            {{- if .bootstrap }}
            - {name: HD_PLATFORM_ADMIN_EMAIL, value: {{ $root.Values.bootstrap.adminEmail | quote }}}
            - name: HD_PLATFORM_ADMIN_PASSWORD
              valueFrom: {secretKeyRef: {name: {{ $secret }}, key: platform-admin-password, optional: true}}
            {{- end }}
          resources: {{- toYaml $m.resources | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- include "helpdesk.datastoreCaMount" $root | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir: {medium: Memory, sizeLimit: 16Mi}
        {{- include "helpdesk.datastoreCaVolume" $root | nindent 8 }}
{{- end -}}
