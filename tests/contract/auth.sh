#!/usr/bin/env bash
# Many checks read their variables inside `expect NAME eval '...'`:
# shellcheck disable=SC2034,SC2016
# Contract client for the auth, tenancy-of-users and security rules, written
# from docs/openapi.yaml alone ("Common rules", "Auth and users",
# "Operations") the way an outside integrator would: bash, curl, jq, and
# python3's standard library for TOTP codes (RFC 6238).
#
# Environment (tests/run.sh exports these for the end-to-end stack):
#   HD_TEST_BASE_URL, HD_TEST_DEMO_TENANT, HD_TEST_DEMO_EMAIL,
#   HD_TEST_DEMO_PASSWORD, HD_TEST_PLATFORM_EMAIL, HD_TEST_PLATFORM_PASSWORD;
#   optional HD_CORS_ORIGINS (the CORS checks run only when it is set) and
#   HD_AUTH_ADMIN_PORT (the auth daemon's admin port, for its operations routes).
# The per tenant+email failed-login limit is assumed at its default (10).
# Prints one PASS/FAIL line per check and `N passed, M failed`; exits 1 on
# any failure.
set -uo pipefail

for v in HD_TEST_BASE_URL HD_TEST_DEMO_TENANT HD_TEST_DEMO_EMAIL HD_TEST_DEMO_PASSWORD \
	HD_TEST_PLATFORM_EMAIL HD_TEST_PLATFORM_PASSWORD; do
	[ -n "${!v:-}" ] || { echo "auth.sh: $v is not set" >&2; echo "0 passed, 1 failed"; exit 1; }
done
for c in curl jq python3; do
	command -v "$c" >/dev/null || { echo "auth.sh: $c is required" >&2; echo "0 passed, 1 failed"; exit 1; }
done

BASE=${HD_TEST_BASE_URL%/}
FAIL_LIMIT=${HD_LOGIN_FAIL_LIMIT:-10}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hd-contract.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
RUN=$(od -An -tx1 -N5 /dev/urandom | tr -d ' \n')
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
USER_KEYS='["active","created_at","email","id","mfa_enabled","name","role","tenant_id","updated_at","version"]'
PW="Contract-pw-$RUN!"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# ---- HTTP ---------------------------------------------------------------

# http METHOD PATH TOKEN BODY [curl args...]: TOKEN and BODY may be empty.
# Sets S (status) and BODY_R (reply body); headers are read with hdr.
http() {
	local m=$1 p=$2 tok=$3 body=$4
	shift 4
	local args=(-s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' -X "$m" --max-time 30 -H 'Expect:')
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	S=$(curl "${args[@]}" "$@" "$BASE$p") || S=000
	BODY_R=$(cat "$TMP/body" 2>/dev/null)
}

# Value of response header $1 (last one; empty when absent).
hdr() {
	awk -v h="$(tr '[:upper:]' '[:lower:]' <<<"$1")" 'BEGIN { FS = ":" }
		{ sub(/\r$/, "") }
		/^HTTP\// { v = ""; next }
		{ n = tolower($1); if (n == h) { v = substr($0, length($1) + 2); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v) } }
		END { print v }' "$TMP/hdr"
}

# jq -e EXPR on the reply body (quiet).
# $u and $t in EXPR are the UUID and time patterns.
jb() { jq -e --arg u "$UUID_RE" --arg t "$TIME_RE" "$1" >/dev/null 2>&1 <<<"$BODY_R"; }
# jq -r EXPR on the reply body.
jr() { jq -r "$1" 2>/dev/null <<<"$BODY_R"; }

# Why the problem+json reply is malformed; empty when it is fine.
problem_issue() {
	local ct rid
	ct=$(hdr Content-Type)
	[[ $ct == application/problem+json* ]] || { echo "Content-Type '$ct' is not application/problem+json"; return; }
	jb '(.type|type)=="string" and (.title|type)=="string" and (.detail|type)=="string"' ||
		{ echo "type/title/detail missing"; return; }
	jb ".status == $S" || { echo "status member is not $S"; return; }
	rid=$(hdr X-Request-Id)
	[ -n "$rid" ] || { echo "no X-Request-Id header"; return; }
	[ "$(jr .request_id)" = "$rid" ] || { echo "request_id does not match X-Request-Id '$rid'"; return; }
	if jb 'has("errors")'; then
		[ "$S" = 422 ] || { echo "errors member outside a 422"; return; }
	fi
	if [ "$S" = 422 ]; then
		jb '(.errors|type)=="array" and (.errors|length)>0 and all(.errors[]; (.field|type)=="string" and (.message|type)=="string")' ||
			{ echo "422 without errors[{field,message}]"; return; }
	fi
}

# check NAME STATUS [JQ_EXPR]: the last reply has STATUS and, when given,
# satisfies JQ_EXPR; an error status must also be a well-formed problem.
check() {
	local name=$1 want=$2 expr=${3:-} why=""
	if [ "$S" != "$want" ]; then
		why="status $S, want $want"
	elif [ -n "$expr" ] && ! jb "$expr"; then
		why="reply does not satisfy $expr"
	elif [ "$want" -ge 400 ]; then
		why=$(problem_issue)
	fi
	if [ -z "$why" ]; then pass "$name"; else fail "$name: $why; body: ${BODY_R:0:300}"; fi
}

# expect NAME COMMAND...: passes when COMMAND succeeds.
expect() {
	local name=$1
	shift
	if "$@" >/dev/null; then pass "$name"; else fail "$name (last reply $S: ${BODY_R:0:300})"; fi
}

# 422 naming field $1 among errors[].field
names_field() { jb "any(.errors[]?; .field == \"$1\")"; }

# ---- helpers over the API -----------------------------------------------

login_body() { jq -cn --arg t "$1" --arg e "$2" --arg p "$3" --arg o "${4:-}" \
	'{tenant:$t,email:$e,password:$p} + (if $o == "" then {} else {totp:$o} end)'; }

# login TENANT EMAIL PASSWORD [TOTP]: sets AT, RT on 200.
login() {
	AT="" RT=""
	http POST /v1/auth/login "" "$(login_body "$@")"
	if [ "$S" = 200 ]; then AT=$(jr .access_token); RT=$(jr .refresh_token); fi
}

# mkuser TOKEN EMAIL ROLE [NAME] [PASSWORD]: POST /v1/users; sets UID_ on 201.
mkuser() {
	UID_=""
	http POST /v1/users "$1" "$(jq -cn --arg e "$2" --arg r "$3" --arg n "${4:-Contract User}" --arg p "${5:-$PW}" \
		'{email:$e,name:$n,role:$r,password:$p}')"
	[ "$S" = 201 ] && UID_=$(jr .id)
}

b64url_decode() {
	local s=${1//-/+}
	s=${s//_//}
	while [ $((${#s} % 4)) -ne 0 ]; do s+="="; done
	base64 -d <<<"$s" 2>/dev/null
}
b64url_encode() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# A well-formed user object with no secret in it.
user_ok() {
	jq -e --argjson keys "$USER_KEYS" --arg u "$UUID_RE" --arg t "$TIME_RE" '
		(keys == $keys) and (.id|test($u)) and (.tenant_id|test($u)) and (.email|type)=="string"
		and (.name|type)=="string" and (.role|IN("admin","agent","technician","customer","platform_admin"))
		and (.active|type)=="boolean" and (.mfa_enabled|type)=="boolean"
		and (.created_at|test($t)) and (.updated_at|test($t)) and (.version|type)=="number"
		and ([.. | strings | select(test("^\\$argon2|^\\$2[aby]\\$|^\\$[0-9]\\$"))] | length == 0)' \
		>/dev/null 2>&1 <<<"$1"
}

# TOTP code (RFC 6238) for otpauth URL $1 at step offset $2 (default 0).
totp() {
	python3 - "$1" "${2:-0}" <<'EOF'
import base64, hashlib, hmac, struct, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
q = dict(urllib.parse.parse_qsl(u.query))
secret = q["secret"].replace(" ", "").upper()
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
digits = int(q.get("digits", 6)); period = int(q.get("period", 30))
alg = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}[q.get("algorithm", "SHA1").upper()]
counter = int(time.time()) // period + int(sys.argv[2])
h = hmac.new(key, struct.pack(">Q", counter), alg).digest()
o = h[-1] & 15
print(str((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 10 ** digits).zfill(digits))
EOF
}
totp_step() { echo $(($(date +%s) / 30)); }

# ---- operations ---------------------------------------------------------

ops_checks() { # $1 label, $2 base URL
	local label=$1 save=$BASE
	BASE=$2
	http GET /healthz "" ""
	check "$label GET /healthz is 200 {\"status\":\"ok\"}" 200 '.status == "ok"'
	http GET /readyz "" ""
	check "$label GET /readyz is 200 while its dependencies answer" 200
	http GET /metrics "" ""
	local ct
	ct=$(hdr Content-Type)
	expect "$label GET /metrics is Prometheus text" \
		eval '[ "$S" = 200 ] && [[ $ct == text/plain* ]] && grep -q "^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* \(counter\|histogram\|gauge\)" "$TMP/body"'
	BASE=$save
}

# The gateway: /healthz and /readyz on its public port, /metrics only on its
# admin port (HD_GATEWAY_ADMIN_PORT), never on the public one.
http GET /healthz "" ""
check "gateway GET /healthz is 200 {\"status\":\"ok\"}" 200 '.status == "ok"'
http GET /readyz "" ""
check "gateway GET /readyz is 200 while its dependencies answer" 200
expect "gateway public port serves no metrics" \
	eval 'http GET /metrics "" ""; ! grep -q "hd_http_requests_total" "$TMP/body"'
if [ -n "${HD_GATEWAY_ADMIN_PORT:-}" ]; then
	save_base=$BASE
	BASE="http://127.0.0.1:$HD_GATEWAY_ADMIN_PORT"
	http GET /metrics "" ""
	ct=$(hdr Content-Type)
	expect "gateway admin port GET /metrics is Prometheus text" \
		eval '[ "$S" = 200 ] && [[ $ct == text/plain* ]] && grep -q "^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* \(counter\|histogram\|gauge\)" "$TMP/body"'
	expect "gateway /metrics has request counts and latency histograms by route and status" \
		eval 'grep -q "_bucket{.*le=\"" "$TMP/body" && grep -q "route=\"" "$TMP/body" && grep -q "status=\"" "$TMP/body"'
	BASE=$save_base
fi
if [ -n "${HD_AUTH_ADMIN_PORT:-}" ]; then
	ops_checks "auth admin port" "http://127.0.0.1:$HD_AUTH_ADMIN_PORT"
fi

# ---- login --------------------------------------------------------------

DT=$HD_TEST_DEMO_TENANT
login "$DT" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD"
check "login: 200 with access_token, refresh_token, token_type Bearer, expires_in" 200 \
	'(.access_token|type)=="string" and (.access_token|length)>0 and (.refresh_token|type)=="string"
	 and (.refresh_token|length)>0 and .token_type == "Bearer" and (.expires_in|type)=="number" and .expires_in > 0'
LOGIN_REPLY=$BODY_R
ADMIN_AT=$AT
ct=$(hdr Content-Type)
expect "login: reply is application/json" eval '[[ $ct == application/json* ]]'
ADMIN_USER=$(jq -c .user <<<"$LOGIN_REPLY")
expect "login: user has exactly the listed fields, well-formed, no password hash" user_ok "$ADMIN_USER"
expect "login: user is the demo admin, active, role admin" \
	jq -e --arg e "$HD_TEST_DEMO_EMAIL" '.email == $e and .role == "admin" and .active == true' <<<"$ADMIN_USER"
expect "login: no password or hash anywhere in the reply" \
	eval '! jq -e "[paths | map(tostring) | join(\".\") | ascii_downcase | select(test(\"pass|hash|secret\"))] | length > 0" <<<"$LOGIN_REPLY" >/dev/null'
ADMIN_ID=$(jq -r .id <<<"$ADMIN_USER")
ACME_ID=$(jq -r .tenant_id <<<"$ADMIN_USER")

IFS=. read -r jh jp js <<<"$ADMIN_AT"
JWT_HDR=$(b64url_decode "$jh")
JWT_PAY=$(b64url_decode "$jp")
expect "access token claims iss, aud, sub=user id, tid=tenant id, role, iat, exp, jti" \
	jq -e --arg s "$ADMIN_ID" --arg t "$ACME_ID" \
	'has("iss") and has("aud") and .sub == $s and .tid == $t and .role == "admin"
	 and (.iat|type)=="number" and (.exp|type)=="number" and .exp > .iat and (.jti|type)=="string"' <<<"$JWT_PAY"
EXP_IN=$(jq -r .expires_in <<<"$LOGIN_REPLY")
expect "expires_in matches the token's exp - iat" \
	jq -e --argjson e "$EXP_IN" '(.exp - .iat - $e) | fabs <= 5' <<<"$JWT_PAY"

http GET /.well-known/jwks.json "" ""
if jq -e '.alg == "HS256"' >/dev/null 2>&1 <<<"$JWT_HDR"; then
	check 'JWKS without a token: {"keys":[]} for HS256' 200 '. == {"keys":[]}'
else
	check "JWKS without a token: public keys for the asymmetric algorithm" 200 '(.keys|length) > 0'
fi

# Bad credentials: the same 401 whatever was wrong.
login "$DT" "$HD_TEST_DEMO_EMAIL" "wrong-$RUN"
check "login: wrong password is 401" 401
R_WRONG=$(jq -cS 'del(.request_id)' <<<"$BODY_R")
login "$DT" "nobody-$RUN@acme.local" "wrong-$RUN"
check "login: unknown email is 401" 401
R_NOUSER=$(jq -cS 'del(.request_id)' <<<"$BODY_R")
login "no-such-tenant-$RUN" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD"
check "login: unknown tenant is 401" 401
R_NOTENANT=$(jq -cS 'del(.request_id)' <<<"$BODY_R")
expect "login: wrong password, unknown email and unknown tenant get the same reply" \
	eval '[ "$R_WRONG" = "$R_NOUSER" ] && [ "$R_WRONG" = "$R_NOTENANT" ]'
login "platform" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD"
check "login: a right password in another tenant is 401" 401
http POST /v1/auth/login "" "$(jq -cn --arg t "$DT" --arg e "$HD_TEST_DEMO_EMAIL" '{tenant:$t,email:$e}')"
check "login: missing password is 422 naming password" 422
expect "login: the 422 names field password" names_field password
http POST /v1/auth/login "" '{"tenant":"acme","email":'
check "login: invalid JSON is 400" 400
http POST /v1/auth/login "" "" -H 'Content-Type: text/plain' --data-binary "$(login_body "$DT" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD")"
check "login: text/plain body is 415" 415

# ---- me, tokens, WWW-Authenticate ---------------------------------------

http GET /v1/auth/me "$ADMIN_AT" ""
check "me: 200 with the signed-in user" 200 ".id == \"$ADMIN_ID\""
expect "me: a well-formed user" user_ok "$BODY_R"
rl=$(hdr RateLimit-Limit) rr=$(hdr RateLimit-Remaining) rs=$(hdr RateLimit-Reset)
expect "RateLimit-Limit/-Remaining/-Reset headers on a response" \
	eval '[[ $rl =~ ^[0-9]+$ && $rr =~ ^[0-9]+$ && $rs =~ ^[0-9]+$ ]] && [ "$rr" -le "$rl" ]'
http GET /v1/auth/me "" ""
check "me without a token: 401" 401
wa=$(hdr WWW-Authenticate)
expect "me without a token: WWW-Authenticate: Bearer" eval '[[ $wa == Bearer* ]]'
http GET /v1/auth/me "not.a.token" ""
check "me with garbage token: 401" 401
none_tok="$(printf '{"alg":"none","typ":"JWT"}' | b64url_encode).$jp."
http GET /v1/auth/me "$none_tok" ""
check "alg none token is 401" 401
forged=$(jq -c '.role = "platform_admin"' <<<"$JWT_PAY" | b64url_encode)
http GET /v1/auth/me "$jh.$forged.$js" ""
check "token with a tampered payload is 401" 401
wa=$(hdr WWW-Authenticate)
expect "tampered token: WWW-Authenticate: Bearer" eval '[[ $wa == Bearer* ]]'

# ---- refresh rotation and family revocation -----------------------------

login "$DT" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD"
R1=$RT
http POST /v1/auth/refresh "" "$(jq -cn --arg r "$R1" '{refresh_token:$r}')"
check "refresh: 200 with a new pair" 200 \
	"(.access_token|type)==\"string\" and (.refresh_token|type)==\"string\" and .refresh_token != \"$R1\" and .token_type == \"Bearer\""
R2=$(jr .refresh_token)
A2=$(jr .access_token)
http GET /v1/auth/me "$A2" ""
check "refresh: the new access token works" 200 ".id == \"$ADMIN_ID\""
http POST /v1/auth/refresh "" "$(jq -cn --arg r "$R1" '{refresh_token:$r}')"
check "refresh: the rotated token presented again is 401" 401
http POST /v1/auth/refresh "" "$(jq -cn --arg r "$R2" '{refresh_token:$r}')"
check "refresh: reuse revoked the family (the newer token is 401 too)" 401
http POST /v1/auth/refresh "" '{"refresh_token":"garbage"}'
check "refresh: unknown token is 401" 401
http POST /v1/auth/refresh "" '{}'
check "refresh: missing refresh_token is 422" 422
expect "refresh: the 422 names refresh_token" names_field refresh_token

# ---- logout -------------------------------------------------------------

login "$DT" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD"
LA=$AT LR=$RT
http POST /v1/auth/logout "" "$(jq -cn --arg r "$LR" '{refresh_token:$r}')"
check "logout without a token: 401" 401
http POST /v1/auth/logout "$LA" "$(jq -cn --arg r "$LR" '{refresh_token:$r}')"
expect "logout: 204 with no body" eval '[ "$S" = 204 ] && [ -z "$BODY_R" ]'
http GET /v1/auth/me "$LA" ""
check "logout: the access token used is rejected from then on (401)" 401
wa=$(hdr WWW-Authenticate)
expect "logout: the rejection carries WWW-Authenticate: Bearer" eval '[[ $wa == Bearer* ]]'
http POST /v1/auth/refresh "" "$(jq -cn --arg r "$LR" '{refresh_token:$r}')"
check "logout: the refresh token is revoked too (401)" 401

# ---- tenants ------------------------------------------------------------

login platform "$HD_TEST_PLATFORM_EMAIL" "$HD_TEST_PLATFORM_PASSWORD"
check "platform admin logs in to tenant platform" 200 '.user.role == "platform_admin"'
PA=$AT
SLUG="ct-$RUN"
T2_EMAIL="admin@$SLUG.example"
tenant_body() { jq -cn --arg s "$1" --arg e "$2" --arg p "$PW" '{name:"Contract Co",slug:$s,admin_email:$e,admin_password:$p,admin_name:"Contract Admin"}'; }
http POST /v1/tenants "$PA" "$(tenant_body "$SLUG" "$T2_EMAIL")"
check "tenants: platform_admin creates a tenant (201)" 201 \
	"(.id|test(\$u)) and .slug == \"$SLUG\" and .name == \"Contract Co\" and (.created_at|test(\$t))"
T2_ID=$(jr .id)
http POST /v1/tenants "$PA" "$(tenant_body "$SLUG" "other-$T2_EMAIL")"
check "tenants: slug taken is 409" 409
http POST /v1/tenants "$ADMIN_AT" "$(tenant_body "ct2-$RUN" "x@ct2-$RUN.example")"
check "tenants: a tenant admin may not create tenants (403)" 403
http POST /v1/tenants "" "$(tenant_body "ct3-$RUN" "x@ct3-$RUN.example")"
check "tenants: without a token 401" 401
http POST /v1/tenants "$PA" '{"name":"No slug"}'
check "tenants: missing fields are 422" 422
expect "tenants: the 422 names slug" names_field slug
http GET /v1/tenants/current "$ADMIN_AT" ""
check "tenants/current: 200 {id,slug,name,created_at} of the caller's tenant" 200 \
	"(keys == [\"created_at\",\"id\",\"name\",\"slug\"]) and .id == \"$ACME_ID\" and .slug == \"$DT\" and (.created_at|test(\$t))"
login "$SLUG" "$T2_EMAIL" "$PW"
check "new tenant's admin logs in" 200 ".user.role == \"admin\" and .user.tenant_id == \"$T2_ID\" and .user.name == \"Contract Admin\""
T2A=$AT
http GET /v1/tenants/current "$T2A" ""
check "tenants/current for the new tenant" 200 ".id == \"$T2_ID\" and .slug == \"$SLUG\""

# ---- users: create, taken emails, tenancy -------------------------------

AG_EMAIL="agent-$RUN@acme.local"
mkuser "$ADMIN_AT" "$AG_EMAIL" agent "Agent $RUN"
check "users: admin creates an agent (201)" 201 ".email == \"$AG_EMAIL\" and .role == \"agent\" and .tenant_id == \"$ACME_ID\" and .active == true"
expect "users: the created user is well-formed, no password hash" user_ok "$BODY_R"
AG_ID=$UID_
mkuser "$ADMIN_AT" "$AG_EMAIL" agent
check "users: email taken in the tenant is 409" 409
mkuser "$T2A" "$AG_EMAIL" agent "Other tenant agent"
check "users: the same email in another tenant is fine (201)" 201 ".tenant_id == \"$T2_ID\""
T2U_ID=$UID_
mkuser "$ADMIN_AT" "bad-$RUN@acme.local" superuser
check "users: unknown role is 422" 422
expect "users: the 422 names role" names_field role
mkuser "$ADMIN_AT" "not-an-email" agent
check "users: malformed email is 422" 422
expect "users: the 422 names email" names_field email
http POST /v1/users "$ADMIN_AT" '{"name":"x"}'
check "users: missing fields are 422" 422
expect "users: the 422 names email, role and password" eval 'names_field email && names_field role && names_field password'
mkuser "$ADMIN_AT" "pa-$RUN@acme.local" platform_admin
expect "users: platform_admin outside the platform tenant is refused (403/422)" eval '[[ $S == 403 || $S == 422 ]] && [ -z "$(problem_issue)" ]'

http GET "/v1/users/$T2U_ID" "$ADMIN_AT" ""
check "users: another tenant's user is 404" 404
http PATCH "/v1/users/$T2U_ID" "$ADMIN_AT" '{"name":"hijack"}'
check "users: PATCH of another tenant's user is 404" 404
http DELETE "/v1/users/$T2U_ID" "$ADMIN_AT" ""
check "users: DELETE of another tenant's user is 404" 404
http GET "/v1/users/00000000-0000-4000-8000-000000000000" "$ADMIN_AT" ""
check "users: unknown id is 404" 404
http GET /v1/users "$T2A" ""
check "users: a tenant's list holds only its own users" 200 "all(.items[]; .tenant_id == \"$T2_ID\")"

# ---- users: list, filters, pagination -----------------------------------

TAG="pg$RUN"
PAGE_IDS=()
for i in 1 2 3; do
	mkuser "$ADMIN_AT" "$TAG-$i@acme.local" customer "Pager $TAG $i"
	PAGE_IDS+=("$UID_")
done
http GET /v1/users "$ADMIN_AT" ""
check "users list: {items, next_cursor} of well-formed users" 200 \
	"(.items|type)==\"array\" and has(\"next_cursor\") and (.items|length) <= 25 and all(.items[]; keys == $USER_KEYS)"
http GET "/v1/users?role=agent" "$ADMIN_AT" ""
check "users list: ?role=agent gives only agents, ours included" 200 \
	"all(.items[]; .role == \"agent\") and any(.items[]; .id == \"$AG_ID\")"
http GET "/v1/users?q=$TAG" "$ADMIN_AT" ""
check "users list: ?q= finds exactly the matching users" 200 \
	"([.items[].id] | sort) == ($(printf '%s\n' "${PAGE_IDS[@]}" | jq -R . | jq -cs 'sort'))"
http GET "/v1/users?q=$TAG&limit=2" "$ADMIN_AT" ""
check "users list: limit=2 gives 2 items and a next_cursor" 200 '(.items|length) == 2 and (.next_cursor|type) == "string"'
P1=$(jr '[.items[].id]')
CUR=$(jr .next_cursor)
mkuser "$ADMIN_AT" "$TAG-4@acme.local" customer "Pager $TAG 4"
http GET "/v1/users?q=$TAG&limit=2&cursor=$(jq -rn --arg c "$CUR" '$c|@uri')" "$ADMIN_AT" ""
check "users list: the next page after a concurrent insert" 200 '(.items|length) >= 1'
P2=$(jr '[.items[].id]')
NEXT2=$(jr .next_cursor)
ALL=$(jq -cn --argjson a "$P1" --argjson b "$P2" '$a + $b')
expect "users list: pages do not overlap and cover every earlier user (keyset)" \
	jq -e --argjson want "$(printf '%s\n' "${PAGE_IDS[@]}" | jq -R . | jq -cs .)" \
	'(length == (unique|length)) and ($want - . == [])' <<<"$ALL"
if [ "$NEXT2" != null ]; then
	http GET "/v1/users?q=$TAG&limit=2&cursor=$(jq -rn --arg c "$NEXT2" '$c|@uri')" "$ADMIN_AT" ""
	P3=$(jr '[.items[].id]')
	ALL=$(jq -cn --argjson a "$ALL" --argjson b "${P3:-[]}" '$a + $b')
	expect "users list: the last page ends with next_cursor null" eval '[ "$(jr .next_cursor)" = null ]'
else
	pass "users list: the last page ends with next_cursor null"
fi
expect "users list: the walk has no duplicates" jq -e 'length == (unique|length)' <<<"$ALL"
http GET "/v1/users?limit=0" "$ADMIN_AT" ""
check "users list: limit=0 is 422" 422
expect "users list: the 422 names limit" names_field limit
http GET "/v1/users?limit=101" "$ADMIN_AT" ""
check "users list: limit=101 is 422" 422
http GET "/v1/users?cursor=definitely-not-a-cursor" "$ADMIN_AT" ""
expect "users list: a forged cursor is a 4xx problem" eval '[[ $S == 400 || $S == 422 ]] && [ -z "$(problem_issue)" ]'

# ---- roles --------------------------------------------------------------

login "$DT" "$AG_EMAIL" "$PW"
check "agent logs in" 200 '.user.role == "agent"'
AGT=$AT
http GET /v1/users "$AGT" ""
check "agent may list users" 200
http GET "/v1/users/$ADMIN_ID" "$AGT" ""
check "agent may get a user" 200 ".id == \"$ADMIN_ID\""
mkuser "$AGT" "byagent-$RUN@acme.local" agent
check "agent may not create users (403)" 403
http DELETE "/v1/users/${PAGE_IDS[0]}" "$AGT" ""
check "agent may not delete users (403)" 403

CU_EMAIL="$TAG-1@acme.local"
login "$DT" "$CU_EMAIL" "$PW"
check "customer logs in" 200 '.user.role == "customer"'
CUT=$AT CU_ID=${PAGE_IDS[0]}
http GET /v1/users "$CUT" ""
check "customer calling GET /v1/users is 403" 403
http GET "/v1/users/$CU_ID" "$CUT" ""
check "customer may get themself" 200 ".id == \"$CU_ID\""
CU_ETAG=$(hdr ETag)
CU_VER=$(jr .version)
expect "users get: ETag is the quoted version" eval '[ "$CU_ETAG" = "\"$CU_VER\"" ]'
http GET "/v1/users/$ADMIN_ID" "$CUT" ""
check "customer getting another user is 404" 404
http PATCH "/v1/users/$CU_ID" "$CUT" '{"name":"Renamed Customer"}'
check "self PATCH of name: 200, version bumped" 200 ".name == \"Renamed Customer\" and .version > $CU_VER"
et=$(hdr ETag) nv=$(jr .version)
expect "self PATCH: ETag follows the new version" eval '[ "$et" = "\"$nv\"" ]'
http PATCH "/v1/users/$CU_ID" "$CUT" '{"role":"admin"}'
check "self PATCH of role is 403" 403
# email may be patchable by nobody (422 unknown field) or by admins only (403)
http PATCH "/v1/users/$CU_ID" "$CUT" "{\"email\":\"x-$RUN@acme.local\"}"
expect "self PATCH of email is refused (403/422)" eval '[[ $S == 403 || $S == 422 ]] && [ -z "$(problem_issue)" ]'
http PATCH "/v1/users/$CU_ID" "$CUT" '{"active":false}'
check "self PATCH of active is 403" 403
http PATCH "/v1/users/${PAGE_IDS[1]}" "$CUT" '{"name":"not mine"}'
expect "customer PATCH of another user is refused (403/404)" eval '[[ $S == 403 || $S == 404 ]] && [ -z "$(problem_issue)" ]'
NEWPW="New-$PW"
http PATCH "/v1/users/$CU_ID" "$CUT" "$(jq -cn --arg p "$NEWPW" '{password:$p}')"
check "self PATCH of password without current_password: 422" 422
expect "self PATCH of password: the 422 names current_password" names_field current_password
http PATCH "/v1/users/$CU_ID" "$CUT" "$(jq -cn --arg p "$NEWPW" '{password:$p,current_password:"not-the-password"}')"
check "self PATCH of password with a wrong current_password: 403" 403
http PATCH "/v1/users/$CU_ID" "$CUT" "$(jq -cn --arg p "$NEWPW" --arg c "$PW" '{password:$p,current_password:$c}')"
check "self PATCH of password: 200 without a hash in the reply" 200 "keys == $USER_KEYS"
login "$DT" "$CU_EMAIL" "$PW"
check "old password no longer works (401)" 401
login "$DT" "$CU_EMAIL" "$NEWPW"
check "new password works" 200

# ---- ETag / If-Match ----------------------------------------------------

http GET "/v1/users/$AG_ID" "$ADMIN_AT" ""
V=$(jr .version)
http PATCH "/v1/users/$AG_ID" "$ADMIN_AT" '{"role":"technician"}' -H "If-Match: \"$V\""
check "admin PATCH with a matching If-Match: 200" 200 ".role == \"technician\" and .version > $V"
http PATCH "/v1/users/$AG_ID" "$ADMIN_AT" '{"name":"Stale"}' -H "If-Match: \"$V\""
check "admin PATCH with a stale If-Match: 412" 412
http PATCH "/v1/users/$AG_ID" "$ADMIN_AT" '{"role":"wizard"}'
check "admin PATCH with an unknown role: 422" 422
expect "admin PATCH 422 names role" names_field role
http PATCH "/v1/users/$AG_ID" "$ADMIN_AT" '{"role":"agent"}'
check "admin PATCH without If-Match: 200" 200 '.role == "agent"'

# ---- common rules: bodies, routes, request ids --------------------------

http POST /v1/users "$ADMIN_AT" '{"email":'
check "invalid JSON is 400" 400
http POST /v1/users "$ADMIN_AT" "" -H 'Content-Type: text/plain' --data-binary '{"email":"a@b.c"}'
check "wrong content type is 415" 415
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"name":"/; s/$/"}/' >"$TMP/big.json"
http POST /v1/users "$ADMIN_AT" "" -H 'Content-Type: application/json' --data-binary "@$TMP/big.json"
check "body over 1 MiB is 413" 413
http POST /v1/auth/login "" "" -H 'Content-Type: application/json' --data-binary "@$TMP/big.json"
check "body over 1 MiB to login is 413" 413
http GET /v1/definitely-not-a-route "$ADMIN_AT" ""
check "unknown route is 404" 404
http DELETE /v1/auth/me "$ADMIN_AT" ""
check "wrong method on a known route is 405" 405
http PUT /v1/users "$ADMIN_AT" '{}'
check "PUT /v1/users is 405" 405

RID="contract-$RUN-abc.123"
http GET /healthz "" "" -H "X-Request-Id: $RID"
got=$(hdr X-Request-Id)
expect "X-Request-Id: a sane client id is echoed" eval '[ "$got" = "$RID" ]'
http GET /v1/definitely-not-a-route "$ADMIN_AT" "" -H "X-Request-Id: $RID"
expect "X-Request-Id: the client id is echoed in the problem's request_id" eval '[ "$(hdr X-Request-Id)" = "$RID" ] && [ "$(jr .request_id)" = "$RID" ]'
BAD_RID="bad id;<script>$(printf 'x%.0s' {1..300})"
http GET /healthz "" "" -H "X-Request-Id: $BAD_RID"
got=$(hdr X-Request-Id)
expect "X-Request-Id: an insane client id is replaced by a fresh one" eval '[ -n "$got" ] && [ "$got" != "$BAD_RID" ] && [[ $got != *"<"* ]]'
http GET /healthz "" ""
got=$(hdr X-Request-Id)
expect "X-Request-Id: present without a client id" eval '[ -n "$got" ]'

# ---- idempotency on POST /v1/users --------------------------------------

IK="contract-$RUN-key"
IB=$(jq -cn --arg e "idem-$RUN@acme.local" --arg p "$PW" '{email:$e,name:"Idem",role:"customer",password:$p}')
http POST /v1/users "$ADMIN_AT" "$IB" -H "Idempotency-Key: $IK"
check "idempotency: first create is 201" 201
IDEM_ID=$(jr .id)
http POST /v1/users "$ADMIN_AT" "$IB" -H "Idempotency-Key: $IK"
check "idempotency: same key and body replays the first response" 201 ".id == \"$IDEM_ID\""
http POST /v1/users "$ADMIN_AT" "$(jq -c '.name = "Other"' <<<"$IB")" -H "Idempotency-Key: $IK"
check "idempotency: same key with another body is 422" 422
LONGKEY=$(printf 'k%.0s' {1..256})
http POST /v1/users "$ADMIN_AT" "$(jq -cn --arg e "idem2-$RUN@acme.local" --arg p "$PW" '{email:$e,name:"Idem",role:"customer",password:$p}')" \
	-H "Idempotency-Key: $LONGKEY"
expect "idempotency: a key over 255 chars is rejected (400/422)" eval '[[ $S == 400 || $S == 422 ]] && [ -z "$(problem_issue)" ]'

# ---- idempotency on POST /v1/tenants ------------------------------------

TK="contract-$RUN-tenant-key"
TB=$(tenant_body "cti-$RUN" "admin@cti-$RUN.example")
http POST /v1/tenants "$PA" "$TB" -H "Idempotency-Key: $TK"
check "tenants idempotency: first create is 201" 201 '.id|test($u)'
TI_FIRST=$BODY_R TI_ID=$(jr .id)
http POST /v1/tenants "$PA" "$TB" -H "Idempotency-Key: $TK"
check "tenants idempotency: same key and body replays 201" 201 ".id == \"$TI_ID\""
expect "tenants idempotency: the replay is the first body, byte for byte" eval '[ "$BODY_R" = "$TI_FIRST" ]'
login "cti-$RUN" "admin@cti-$RUN.example" "$PW"
check "tenants idempotency: one tenant: its admin signs in to the first tenant" 200 \
	".user.tenant_id == \"$TI_ID\""
http POST /v1/tenants "$PA" "$(tenant_body "cti2-$RUN" "admin@cti2-$RUN.example")" -H "Idempotency-Key: $TK"
check "tenants idempotency: same key with another body is 422" 422
expect "tenants idempotency: the 422 names Idempotency-Key" names_field Idempotency-Key
http POST /v1/tenants "$PA" "$(tenant_body "cti2-$RUN" "admin@cti2-$RUN.example")"
check "tenants idempotency: the refused request created nothing (its slug is still free)" 201

# ---- CORS ---------------------------------------------------------------

if [ -n "${HD_CORS_ORIGINS:-}" ]; then
	ORIGIN=${HD_CORS_ORIGINS%%,*}
	[ "$ORIGIN" = "*" ] && ORIGIN=https://anything.example
	http OPTIONS /v1/users "" "" -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: GET' \
		-H 'Access-Control-Request-Headers: authorization, content-type'
	acao=$(hdr Access-Control-Allow-Origin) acam=$(hdr Access-Control-Allow-Methods)
	expect "CORS: preflight from an allowed origin is answered" \
		eval '[[ $S == 200 || $S == 204 ]] && [[ $acao == "$ORIGIN" || $acao == "*" ]] && [[ ${acam^^} == *GET* ]]'
	if [ "${HD_CORS_ORIGINS}" != "*" ]; then
		http OPTIONS /v1/users "" "" -H "Origin: https://evil-$RUN.example" -H 'Access-Control-Request-Method: GET'
		acao=$(hdr Access-Control-Allow-Origin)
		expect "CORS: a foreign origin is not allowed" eval '[ -z "$acao" ]'
	fi
else
	echo "SKIP CORS checks (HD_CORS_ORIGINS is not set)"
fi

# ---- deactivation -------------------------------------------------------

DE_EMAIL="gone-$RUN@acme.local"
mkuser "$ADMIN_AT" "$DE_EMAIL" agent "Soon Gone"
DE_ID=$UID_
login "$DT" "$DE_EMAIL" "$PW"
DE_AT=$AT DE_RT=$RT
http GET /v1/auth/me "$DE_AT" ""
check "deactivation: the user works before" 200
http DELETE "/v1/users/$DE_ID" "$ADMIN_AT" ""
expect "deactivation: DELETE is 204" eval '[ "$S" = 204 ] && [ -z "$BODY_R" ]'
http GET /v1/auth/me "$DE_AT" ""
check "deactivation: their access token stops working at once (401)" 401
http POST /v1/auth/refresh "" "$(jq -cn --arg r "$DE_RT" '{refresh_token:$r}')"
check "deactivation: their refresh token stops working (401)" 401
login "$DT" "$DE_EMAIL" "$PW"
check "deactivation: their login fails with 401" 401
http GET "/v1/users/$DE_ID" "$ADMIN_AT" ""
expect "deactivation: the admin sees them inactive (or gone)" eval '[[ $S == 404 ]] || jb ".active == false"'

# ---- MFA ----------------------------------------------------------------

MF_EMAIL="mfa-$RUN@acme.local"
mkuser "$ADMIN_AT" "$MF_EMAIL" agent "MFA User"
login "$DT" "$MF_EMAIL" "$PW"
MFT=$AT
http POST /v1/auth/mfa/enroll "" ""
check "mfa enroll without a token: 401" 401
http POST /v1/auth/mfa/enroll "$MFT" ""
check "mfa enroll: 200 {secret, otpauth_url}" 200 \
	'(.secret|type)=="string" and (.secret|length) >= 16 and (.otpauth_url|startswith("otpauth://totp/")) and (.otpauth_url|contains("secret="))'
OTPURL=$(jr .otpauth_url)
expect "mfa enroll: otpauth_url carries the same secret" eval 'jb "(.otpauth_url|ascii_upcase) | contains(\"SECRET=\" + ($(jr .secret|jq -R .)|ascii_upcase))"'
good=$(totp "$OTPURL" 0)
wrong=$(printf '%06d' $(((10#$good + 500000) % 1000000)))
http POST /v1/auth/mfa/confirm "$MFT" "{\"code\":\"$wrong\"}"
expect "mfa confirm with a wrong code is refused (4xx problem)" eval '[[ $S == 4* ]] && [ -z "$(problem_issue)" ]'
http POST /v1/auth/mfa/confirm "$MFT" '{}'
check "mfa confirm without code is 422" 422
http GET /v1/auth/me "$MFT" ""
check "mfa not enabled before a good confirm" 200 '.mfa_enabled == false'
http POST /v1/auth/mfa/confirm "$MFT" "{\"code\":\"$(totp "$OTPURL" 0)\"}"
CONFIRM_STEP=$(totp_step)
expect "mfa confirm with the right code: 204" eval '[ "$S" = 204 ]'
http GET /v1/auth/me "$MFT" ""
check "me shows mfa_enabled true" 200 '.mfa_enabled == true'
login "$DT" "$MF_EMAIL" "$PW"
check "login with MFA and no totp: 401 mfa_required" 401 '.mfa_required == true'
login "$DT" "$MF_EMAIL" "$PW" "$wrong"
check "login with MFA and a wrong totp: 401 mfa_required" 401 '.mfa_required == true'
# A verifier may refuse a code already used; wait for a fresh step.
while [ "$(totp_step)" = "$CONFIRM_STEP" ]; do sleep 1; done
login "$DT" "$MF_EMAIL" "$PW" "$(totp "$OTPURL" 0)"
check "login with MFA and the right totp: 200" 200 '.user.mfa_enabled == true'

# ---- failed-login limit per tenant+email --------------------------------

LIM_EMAIL="limit-$RUN@acme.local"
mkuser "$ADMIN_AT" "$LIM_EMAIL" customer "Limit User"
mkuser "$T2A" "$LIM_EMAIL" customer "Limit User Elsewhere"
n401=0
for _ in $(seq "$FAIL_LIMIT"); do
	login "$DT" "$LIM_EMAIL" "wrong-$RUN"
	[ "$S" = 401 ] && n401=$((n401 + 1))
done
expect "failed-login limit: the first $FAIL_LIMIT wrong passwords are 401" eval '[ "$n401" = "$FAIL_LIMIT" ]'
login "$DT" "$LIM_EMAIL" "$PW"
check "failed-login limit: then 429 even with the right password" 429
ra=$(hdr Retry-After)
expect "failed-login limit: 429 carries Retry-After seconds" eval '[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -gt 0 ]'
login "$SLUG" "$LIM_EMAIL" "$PW"
check "failed-login limit: the same email in another tenant still logs in" 200
login "$DT" "$HD_TEST_DEMO_EMAIL" "$HD_TEST_DEMO_PASSWORD"
check "failed-login limit: another email in the tenant still logs in" 200
n401=0
for _ in $(seq "$FAIL_LIMIT"); do
	login "$DT" "ghost-$RUN@acme.local" "wrong-$RUN"
	[ "$S" = 401 ] && n401=$((n401 + 1))
done
login "$DT" "ghost-$RUN@acme.local" "wrong-$RUN"
expect "failed-login limit: an unknown email is limited alike (no enumeration)" eval '[ "$n401" = "$FAIL_LIMIT" ] && [ "$S" = 429 ]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
