#!/usr/bin/env bash
# A private SMTP relay for tests: Debian's aiosmtpd recording every mail into
# the Maildir MAILDIR, on 127.0.0.1:PORT, offering STARTTLS with a
# certificate for 127.0.0.1 from a test CA made here (DIR/ca.pem: give it to
# hd-notification as HD_SMTP_CA_FILE). aiosmtpd given a certificate refuses
# MAIL before STARTTLS (530), so every mail it records came over TLS with a
# verified certificate. `stop` and `start` again (same DIR) keep the CA and
# the port: test_smtp_relay.c takes the relay down for a while that way.
#   tests/lib/smtpd.sh start DIR PORT MAILDIR   (returns once it answers)
#   tests/lib/smtpd.sh stop DIR
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?folder}

# The test CA and the relay's certificate (IP SAN 127.0.0.1), made once.
make_certs() {
	[ -s "$dir/relay.pem" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=hd test SMTP CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$dir/relay.key" -out "$dir/relay.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/relay.ext"
	openssl x509 -req -in "$dir/relay.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/relay.ext" -out "$dir/relay.pem" 2>/dev/null
}

case "$cmd" in
start)
	port=${3:?port} maildir=${4:?maildir}
	mkdir -p "$dir" "$maildir"/{tmp,new,cur}
	make_certs
	echo "$port" >"$dir/port"
	/usr/bin/aiosmtpd -n -l "127.0.0.1:$port" --tlscert "$dir/relay.pem" --tlskey "$dir/relay.key" \
		-c aiosmtpd.handlers.Mailbox "$maildir" >>"$dir/smtpd.log" 2>&1 </dev/null &
	echo $! >"$dir/pid"
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then exit 0; fi
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "smtpd exited: $dir/smtpd.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "smtpd does not answer on $port" >&2
	exit 1
	;;
stop)
	if [ -s "$dir/pid" ]; then
		pid=$(cat "$dir/pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$dir/pid"
	fi
	;;
*)
	echo "usage: $0 start DIR PORT MAILDIR | stop DIR" >&2
	exit 2
	;;
esac
