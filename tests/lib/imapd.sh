#!/usr/bin/env bash
# A private IMAP server for tests: Debian's dovecot-imapd with its own
# configuration, state and Maildirs under DIR, on 127.0.0.1:PORT, plain
# IMAP without TLS (a test server: the poller then tries STARTTLS and goes
# on without it outside production). One user USER whose password is
# $HD_TEST_IMAP_PASSWORD (from the environment: not on a command line);
# its Maildir is DIR/mail/USER, which tests fill by writing a message into
# tmp/ and renaming it into new/ (the Maildir way). Runs as root too: the
# mail processes then run as nobody.
#   tests/lib/imapd.sh start DIR PORT USER   (returns once it answers)
#   tests/lib/imapd.sh stop DIR
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?folder}

case "$cmd" in
start)
	port=${3:?port} user=${4:?user} password=${HD_TEST_IMAP_PASSWORD:?HD_TEST_IMAP_PASSWORD}
	uid=$(id -u) gid=$(id -g)
	if [ "$uid" = 0 ]; then uid=$(id -u nobody) gid=$(id -g nobody); fi
	mkdir -p "$dir/run" "$dir/state" "$dir/home" "$dir/mail/$user"/{cur,new,tmp}
	chown -R "$uid:$gid" "$dir/home" "$dir/mail"
	chmod -R a+rwX "$dir/mail"
	printf '%s:{PLAIN}%s\n' "$user" "$password" >"$dir/passwd"
	chmod 0644 "$dir/passwd"
	cat >"$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dir/mail/%u
first_valid_uid = $uid
last_valid_uid = $uid
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$dir/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
	# its own log file; stdout and stderr closed, so that a caller reading
	# them (tests/run.sh tees every step) is not held open by the daemon
	/usr/sbin/dovecot -c "$dir/dovecot.conf" </dev/null >/dev/null 2>&1
	for _ in $(seq 100); do
		if curl -s --max-time 2 --user "$user:$password" "imap://127.0.0.1:$port/" \
			-X 'EXAMINE "INBOX"' | grep -q UIDVALIDITY; then
			exit 0
		fi
		sleep 0.1
	done
	echo "imapd: dovecot did not answer on $port (see $dir/dovecot.log)" >&2
	exit 1
	;;
stop)
	[ -s "$dir/run/master.pid" ] && kill "$(cat "$dir/run/master.pid")" 2>/dev/null || true
	;;
esac
