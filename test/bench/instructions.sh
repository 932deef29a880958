#!/usr/bin/env bash
# Instructions the server executes per request, for one bench row, counted by valgrind's callgrind.
# Unlike req/s or CPU time, the count barely moves with other load on the machine (about ±3% here), so
# it tells whether a change made a row cheaper even when timings are too noisy to show it.
#
#   test/bench/instructions.sh <row id> [cookie|new] [requests=4000] [warm-up=12000]
#   e.g. test/bench/instructions.sh express-sesame cookie
#
# Needs valgrind and curl. The packages must be built (pnpm build); SESAME_BENCH_PACKAGES works as for run.mjs.
# Takes about a minute per row. Instructions are not time: allocation and cache misses cost more than
# their count; the bench tables remain the reference for the targets.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
row=${1:?usage: instructions.sh <row id> [cookie|new] [requests] [warm-up]}
case_=${2:-cookie}
requests=${3:-4000}
warmup=${4:-12000}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
work=$(mktemp -d)
trap 'kill $vg 2>/dev/null || true; rm -rf "$work"' EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" \
  node "$here/instructions-server.mjs" "$row" "$port" >"$work/server.log" 2>&1 &
vg=$!
for _ in $(seq 1 900); do grep -q ready "$work/server.log" 2>/dev/null && break; kill -0 $vg 2>/dev/null || break; sleep 0.2; done
grep -q ready "$work/server.log" || { cat "$work/server.log" >&2; exit 1; }
cookie=""
if [ "$case_" = cookie ]; then
  # The session cookie of a first request (bare rows set none and are measured without one).
  cookie=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/" | tr -d '\r' | { grep -i '^set-cookie' || true; } | head -1 | sed 's/^[^:]*: //; s/;.*//')
fi
# Warm up over two sets of connections: the first reconnect deoptimizes much of Node's http code (the
# new sockets' maps differ), and the recompiling would otherwise land in the measured window.
node "$here/instructions-client.mjs" "$port" $(( warmup / 2 )) "$cookie"
node "$here/instructions-client.mjs" "$port" $(( warmup - warmup / 2 )) "$cookie"
callgrind_control -i on $vg >/dev/null 2>&1
node "$here/instructions-client.mjs" "$port" "$requests" "$cookie"
callgrind_control -d $vg >/dev/null 2>&1
callgrind_control -i off $vg >/dev/null 2>&1
total=$(grep -h '^summary:' "$work/cg.out.1" | awk '{ s += $2 } END { print s }')
echo "$row $case_: $(( total / requests )) instructions/request ($total over $requests requests)"
