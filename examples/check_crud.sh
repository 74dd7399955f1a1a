#!/bin/sh
# Runs crud_server on a port the kernel picks, crud_client against it, then
# stops the server with SIGTERM. Passes when both exit 0. Every wait is
# bounded. Usage: check_crud.sh CRUD_SERVER CRUD_CLIENT
set -u
server=$1
client=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$server" 127.0.0.1:0 >"$out" 2>&1 &
pid=$!
# Wait (at most 10 s) for the "listening on host:port" line.
tries=0
until grep -q '^listening on ' "$out"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "crud_server did not start:"; cat "$out"; kill -KILL "$pid" 2>/dev/null; exit 1
  fi
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$out")
timeout 30 "$client" "$addr"
client_rc=$?
kill -TERM "$pid"
tries=0
while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 100 ]; do tries=$((tries + 1)); sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "crud_server ignored SIGTERM"; kill -KILL "$pid"; fi
wait "$pid"
server_rc=$?
echo "--- crud_server (exit $server_rc):"; cat "$out"
echo "crud_client exit $client_rc"
[ "$client_rc" -eq 0 ] && [ "$server_rc" -eq 0 ]
