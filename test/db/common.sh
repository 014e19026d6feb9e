# test/db/common.sh: helpers of the throwaway-server scripts
# (servers.sh, galera.sh), sourced by them.  The sourcing script sets
# SELF (its name in messages) first.

say() { echo "$SELF: $*" >&2; }
die() { say "error: $*"; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# alive PID: 0 when PID names a live process
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

abspath() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}

mariadbd_bin() {
    if command -v mariadbd >/dev/null 2>&1; then command -v mariadbd; else echo /usr/sbin/mariadbd; fi
}

# port_busy PORT: 0 when something listens on 127.0.0.1:PORT (or any address).
port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
    fi
}

# term_wait PID WHAT: SIGTERM, then up to 30 s for PID to exit; SIGKILL
# (saying so, naming WHAT) if it has not
term_wait() {
    kill -TERM "$1" 2>/dev/null || true
    tw=0
    while alive "$1" && [ $tw -lt 300 ]; do sleep 0.1; tw=$((tw + 1)); done
    if alive "$1"; then
        say "$2 (pid $1) did not stop in 30 s; killing it"
        kill -KILL "$1" 2>/dev/null || true
        sleep 0.5
    fi
}

# log_tail FILE: its last 30 lines on stderr, indented
log_tail() {
    if [ -f "$1" ]; then
        say "last lines of $1:"
        tail -n 30 "$1" | sed 's/^/    /' >&2
    fi
}
