# Shared shell helpers for integration tests: source it.
#   free_port            prints a TCP port nobody listens on (127.0.0.1)
#   wait_for SECS CMD..  runs CMD until it succeeds or SECS pass (then fails)
#   fail MSG             prints MSG and exits 1
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.05
  done
}
fail() { echo "FAIL: $*" >&2; exit 1; }
