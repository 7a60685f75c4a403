{{/* Names ---------------------------------------------------------------- */}}
{{- define "helpdesk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "helpdesk.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains (include "helpdesk.name" .) .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "helpdesk.name" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels: call with (dict "root" $ "component" "auth") ------------------ */}}
{{- define "helpdesk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "helpdesk.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- /* (dict "root" $ "component" "auth" ["version" "1.4.1"]): version is
     the component's image tag where one image is meant, else the chart's
     appVersion; commonLabels last. */ -}}
{{- define "helpdesk.labels" -}}
{{ include "helpdesk.selectorLabels" . }}
app.kubernetes.io/part-of: helpdesk
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .version | default .root.Chart.AppVersion | toString | trunc 63 | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selects every pod of this release. */}}
{{- define "helpdesk.instanceLabels" -}}
app.kubernetes.io/name: {{ include "helpdesk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Image reference: (dict "root" $ "image" .image) */}}
{{- define "helpdesk.image" -}}
{{- $repo := .image.repository -}}
{{- with .root.Values.image.registry }}{{ $repo = printf "%s/%s" . $repo }}{{ end -}}
{{- printf "%s:%s" $repo (.image.tag | toString) -}}
{{- with .image.digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/* The pods' ServiceAccount name ("" = the namespace's default). */}}
{{- define "helpdesk.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "helpdesk.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "helpdesk.secretName" -}}
{{- default (include "helpdesk.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Secret holding the hook Jobs' credentials (owner URL):
     existingHookSecret, else existingSecret, else the chart's hook Secret. */}}
{{- define "helpdesk.hookSecretName" -}}
{{- if .Values.secrets.existingHookSecret -}}
{{- .Values.secrets.existingHookSecret -}}
{{- else if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-hooks" (include "helpdesk.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "helpdesk.envName" -}}
{{- . | upper | replace "-" "_" -}}
{{- end -}}

{{/* tls+tcp://<service>.<namespace>.svc:<port> (tcp:// with tls.enabled false):
(dict "root" $ "name" "auth" "port" 7101) */}}
{{- define "helpdesk.nngUrl" -}}
{{- printf "%s%s-%s.%s.svc:%d" (include "helpdesk.nngScheme" .root) (include "helpdesk.fullname" .root) .name .root.Release.Namespace (int .port) -}}
{{- end -}}

{{/* tls+tcp:// or tcp://; production refuses plain links, as the daemons do. */}}
{{- define "helpdesk.nngScheme" -}}
{{- if .Values.tls.enabled -}}tls+tcp://{{- else -}}
{{- if eq .Values.env "production" -}}
{{- fail "tls.enabled: false: env production refuses plain NNG links (docs/operations.md, Certificates)" -}}
{{- end -}}tcp://{{- end -}}
{{- end -}}

{{/* The Secret with component .name's certificate: (dict "root" $ "name" "auth") */}}
{{- define "helpdesk.tlsSecretName" -}}
{{- printf "%s-%s-tls" (default (include "helpdesk.fullname" .root) .root.Values.tls.secretPrefix) .name -}}
{{- end -}}

{{/* HD_TLS_* of a component: its certificate files, mounted at /etc/helpdesk/tls. */}}
{{- define "helpdesk.tlsEnv" -}}
{{- if .Values.tls.enabled }}
- {name: HD_TLS_CA_FILE, value: /etc/helpdesk/tls/ca.crt}
- {name: HD_TLS_CERT_FILE, value: /etc/helpdesk/tls/tls.crt}
- {name: HD_TLS_KEY_FILE, value: /etc/helpdesk/tls/tls.key}
{{- end }}
{{- end -}}

{{/*
The daemons behind the gateway as a map name -> settings (YAML; read it with
fromYaml): each line of daemons.yaml (generated from daemons.def), then
.Values.daemonDefaults, then .Values.daemons.<name> over it, merged two levels
deep key by key (so that false and 0 override too). A daemons.<name> that is
not on the list fails the render.
*/}}
{{- define "helpdesk.daemons" -}}
{{- $list := .Files.Get "daemons.yaml" | fromYaml -}}
{{- $values := .Values.daemons | default dict -}}
{{- range $name, $_ := $values -}}
{{- if not (hasKey $list $name) -}}
{{- fail (printf "daemons.%s: not a daemon of daemons.def (k8s/helpdesk/daemons.yaml)" $name) -}}
{{- end -}}
{{- end -}}
{{- $out := dict -}}
{{- range $name, $line := $list -}}
{{- $d := deepCopy $line -}}
{{- range $layer := list $.Values.daemonDefaults (index $values $name | default dict) -}}
{{- range $k, $v := $layer -}}
{{- if and (kindIs "map" $v) (kindIs "map" (index $d $k)) -}}
{{- $sub := deepCopy (index $d $k) -}}
{{- range $k2, $v2 := $v }}{{ $_ := set $sub $k2 $v2 }}{{ end -}}
{{- $_ := set $d $k $sub -}}
{{- else -}}
{{- $_ := set $d $k (deepCopy $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $d.migrate (not $d.sqlDir) -}}
{{- fail (printf "daemons.%s: migrate: true needs sqlDir" $name) -}}
{{- end -}}
{{- $_ := set $out $name $d -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The components as one list, so every per-daemon template iterates the same
shape: name, kind (gateway|bus|daemon), image, replicas, ports [{name,port}],
adminPort, probePort (the port name the kubelet probes), resources, autoscaling, pdb, jwt (none|verify|sign), dbAccess,
redisAccess, env, podAnnotations, listenEnv (daemons: peers, egress).
*/}}
{{- define "helpdesk.components" -}}
{{- $v := .Values -}}
{{- $scheme := include "helpdesk.nngScheme" . -}}
{{- $list := list -}}
{{- $g := $v.gateway -}}
{{- $list = append $list (dict "name" "gateway" "kind" "gateway" "image" $g.image "replicas" $g.replicas
      "ports" (list (dict "name" "http" "port" $g.port)) "adminPort" $g.adminPort "probePort" "http"
      "resources" $g.resources "autoscaling" $g.autoscaling "pdb" $g.pdb "jwt" "verify"
      "dbAccess" false "redisAccess" true "env" $g.env "podAnnotations" $g.podAnnotations
      "listenEnv" (dict "HD_HTTP_PORT" ($g.port | toString) "HD_HTTP_BIND" "0.0.0.0"
                        "HD_GATEWAY_ADMIN_PORT" ($g.adminPort | toString)
                        "HD_HTTP_THREADS" ($g.httpThreads | toString) "HD_CORS_ORIGINS" $g.corsOrigins
                        "HD_TRUSTED_PROXIES" ($g.trustedProxies | default "")
                        "HD_WEB_ROOT" ($g.webRoot | default ""))) -}}
{{- $b := $v.bus -}}
{{- $list = append $list (dict "name" "bus" "kind" "bus" "image" $b.image "replicas" 1
      "ports" (list (dict "name" "pub" "port" $b.pubPort) (dict "name" "sub" "port" $b.subPort))
      "adminPort" $b.adminPort "probePort" "admin" "resources" $b.resources
      "autoscaling" (dict "enabled" false) "pdb" (dict "maxUnavailable" 1) "jwt" "none"
      "dbAccess" false "redisAccess" false "env" $b.env "podAnnotations" $b.podAnnotations
      "listenEnv" (dict "HD_BUS_PUB_URL" (printf "%s0.0.0.0:%d" $scheme (int $b.pubPort))
                        "HD_BUS_SUB_URL" (printf "%s0.0.0.0:%d" $scheme (int $b.subPort))
                        "HD_BUS_ADMIN_PORT" ($b.adminPort | toString))) -}}
{{- $daemons := include "helpdesk.daemons" . | fromYaml -}}
{{- range $name, $d := $daemons -}}
{{- if $d.enabled -}}
{{- $u := include "helpdesk.envName" $name -}}
{{- /* who may call its RPC socket over mutual TLS: the gateway and every
     enabled daemon that lists it among its peers or consumes its events
     (it calls their events.since: docs/operations.md, The bus) */ -}}
{{- $callers := list "hd-gateway" -}}
{{- range $cn, $cd := $daemons -}}
{{- if and $cd.enabled (has $name (concat ($cd.peers | default list) ($cd.consumes | default list))) -}}
{{- $callers = append $callers (printf "hd-%s" $cn) -}}
{{- end -}}
{{- end -}}
{{- $list = append $list (dict "name" $name "kind" "daemon" "image" $d.image "replicas" $d.replicas
      "ports" (list (dict "name" "rpc" "port" $d.port)) "adminPort" $d.adminPort "probePort" "admin"
      "resources" $d.resources "autoscaling" $d.autoscaling "pdb" $d.pdb "jwt" $d.jwt
      "dbAccess" $d.dbAccess "redisAccess" $d.redisAccess "env" $d.env "podAnnotations" $d.podAnnotations
      "peers" (concat ($d.peers | default list) ($d.consumes | default list) | uniq) "egress" ($d.egress | default list)
      "consumes" ($d.consumes | default list)
      "listenEnv" (dict (printf "HD_%s_URL" $u) (printf "%s0.0.0.0:%d" $scheme (int $d.port))
                        (printf "HD_%s_ADMIN_PORT" $u) ($d.adminPort | toString)
                        "HD_TLS_RPC_PEERS" (join "," $callers))) -}}
{{- end -}}
{{- end -}}
{{- toYaml $list -}}
{{- end -}}

{{- define "helpdesk.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "helpdesk.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end -}}

{{/* Credentials as env: (dict "root" $ "c" component [ "secret" name ]) */}}
{{- define "helpdesk.secretEnv" -}}
{{- $secret := default (include "helpdesk.secretName" .root) .secret -}}
{{- if .c.dbAccess }}
- name: HD_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: database-url}}
- name: HD_RELAY_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: relay-database-url}}
{{- end }}
{{- if .c.redisAccess }}
- name: HD_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: redis-url}}
{{- end }}
{{- if and (eq .c.name "ticket") (eq .root.Values.attachments.backend "s3") }}
- name: HD_S3_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: s3-access-key-id}}
- name: HD_S3_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: s3-secret-access-key}}
{{- end }}
{{- if eq (toString .c.name) "notification" }}
- name: HD_MAIL_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: mail-key, optional: true}}
- name: HD_MAIL_KEY_PREVIOUS
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: mail-key-previous, optional: true}}
- name: HD_SMTP_USER
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: smtp-user, optional: true}}
- name: HD_SMTP_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: smtp-password, optional: true}}
{{- if include "helpdesk.smtpCa" .root }}
- name: HD_SMTP_CA_FILE
  value: /etc/helpdesk/smtp-ca/ca.crt
{{- end }}
{{- end }}
{{- if ne .c.jwt "none" }}
{{- if eq .root.Values.jwt.alg "HS256" }}
- name: HD_JWT_SECRET
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: jwt-secret}}
{{- else }}
- name: HD_JWT_PUBLIC_KEY_FILE
  value: /etc/helpdesk/jwt/jwt-public-key.pem
{{- if eq .c.jwt "sign" }}
- name: HD_JWT_PRIVATE_KEY_FILE
  value: /etc/helpdesk/jwt/jwt-private-key.pem
{{- end }}
{{- end }}
{{- if .root.Values.jwt.keysSecret }}
- name: HD_JWT_KEYS_DIR
  value: /etc/helpdesk/jwt-keys
{{- end }}
{{- end }}
{{- end -}}

{{/* True (non-empty) when the component mounts JWT key files. */}}
{{- define "helpdesk.mountsKeys" -}}
{{- if and (ne .c.jwt "none") (ne .root.Values.jwt.alg "HS256") }}yes{{ end -}}
{{- end -}}

{{/* True (non-empty) when the component mounts the rotation keys (jwt.keysSecret). */}}
{{- define "helpdesk.mountsRotationKeys" -}}
{{- if and (ne .c.jwt "none") .root.Values.jwt.keysSecret }}yes{{ end -}}
{{- end -}}

{{- define "helpdesk.keyVolume" -}}
- name: jwt-keys
  secret:
    secretName: {{ include "helpdesk.secretName" .root }}
    defaultMode: 0440
    items:
      - {key: jwt-public-key.pem, path: jwt-public-key.pem}
{{- if eq .c.jwt "sign" }}
      - {key: jwt-private-key.pem, path: jwt-private-key.pem}
{{- end }}
{{- end -}}

{{- /* The datastore CA (tls.caSecret) where PostgreSQL is reached: a volume
     mount (helpdesk.datastoreCaMount) and its volume (helpdesk.datastoreCaVolume);
     both empty without tls.caSecret. docs/operations.md, Datastores over TLS. */ -}}
{{- define "helpdesk.datastoreCaMount" -}}
{{- if .Values.tls.caSecret }}
- {name: datastore-ca, mountPath: /etc/helpdesk/datastore-ca, readOnly: true}
{{- end }}
{{- end -}}

{{- define "helpdesk.datastoreCaVolume" -}}
{{- if .Values.tls.caSecret }}
- name: datastore-ca
  secret:
    secretName: {{ .Values.tls.caSecret }}
    defaultMode: 0444
    items:
      - {key: ca.crt, path: ca.crt}
{{- end }}
{{- end -}}

{{- /* The SMTP relay's CA of mail.smtpCa (docs/operations.md, E-mail):
     "secret" or "configMap" (which holds it), empty when none; both is an
     error. Its volume and mount are hd-notification's (helpdesk.smtpCaVolume,
     helpdesk.smtpCaMount). */ -}}
{{- define "helpdesk.smtpCa" -}}
{{- $ca := .Values.mail.smtpCa -}}
{{- if and $ca.secret $ca.configMap -}}
{{- fail "mail.smtpCa: set secret or configMap, not both" -}}
{{- else if $ca.secret -}}secret
{{- else if $ca.configMap -}}configMap
{{- end -}}
{{- end -}}

{{- define "helpdesk.smtpCaMount" -}}
{{- if include "helpdesk.smtpCa" . }}
- {name: smtp-ca, mountPath: /etc/helpdesk/smtp-ca, readOnly: true}
{{- end }}
{{- end -}}

{{- define "helpdesk.smtpCaVolume" -}}
{{- $ca := .Values.mail.smtpCa -}}
{{- $kind := include "helpdesk.smtpCa" . -}}
{{- if eq $kind "secret" }}
- name: smtp-ca
  secret:
    secretName: {{ $ca.secret | quote }}
    defaultMode: 0444
    items:
      - {key: {{ $ca.key | quote }}, path: ca.crt}
{{- else if eq $kind "configMap" }}
- name: smtp-ca
  configMap:
    name: {{ $ca.configMap | quote }}
    defaultMode: 0444
    items:
      - {key: {{ $ca.key | quote }}, path: ca.crt}
{{- end }}
{{- end -}}

{{- /* checksum/secret: what the chart's Secret is made of, so that a changed
     credential restarts the pods that read it. The values, not the rendered
     Secret: a generated HS256 secret (kept by lookup) must not restart
     everything at each upgrade. With existingSecret only its name counts
     (docs/operations.md, Secrets). */ -}}
{{- define "helpdesk.secretChecksum" -}}
{{- $s := .Values.secrets -}}
{{- if $s.existingSecret -}}
{{- $s.existingSecret | sha256sum -}}
{{- else -}}
{{- toJson (dict "secrets" (omit $s "existingHookSecret" "databaseAdminUrl" "platformAdminPassword") "alg" .Values.jwt.alg) | sha256sum -}}
{{- end -}}
{{- end -}}

{{- define "helpdesk.probes" -}}
{{- $p := .root.Values.probes -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 2
  timeoutSeconds: {{ $p.timeoutSeconds }}
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: {{ $p.periodSeconds }}
  timeoutSeconds: {{ $p.timeoutSeconds }}
  failureThreshold: {{ $p.failureThreshold }}
readinessProbe:
  httpGet: {path: /readyz, port: {{ .port }}}
  initialDelaySeconds: {{ $p.initialDelaySeconds }}
  periodSeconds: {{ $p.periodSeconds }}
  timeoutSeconds: {{ $p.timeoutSeconds }}
  failureThreshold: {{ $p.failureThreshold }}
{{- end -}}

{{/* Scheduling settings shared by every pod. */}}
{{- define "helpdesk.scheduling" -}}
{{- with include "helpdesk.serviceAccountName" . }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
