#!/usr/bin/env bash
# davgate vs Radicale vs Xandikos on the same generated 10,000-event feed.
#
#   bash bench/run.sh           # full run (~5-6 min), rewrites docs/benchmarks.md
#   bash bench/run.sh --quick   # smoke run: 1,000 events, 2 s per workload; prints only
#
# Everything listens on 127.0.0.1 on free ports; every server is stopped by
# PID on exit. Set BENCH_KEEP=1 to keep the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
N=10000 DUR=10s
((QUICK)) && N=1000 DUR=2s
MONTH=2026-03 WSTART=20260301T000000Z WEND=20260401T000000Z
PW=bench

WORK=$(mktemp -d /tmp/davgate-bench.XXXXXX)
BIN=$WORK/bin OUT=$WORK/out
mkdir -p "$BIN" "$OUT"
PIDS=()
cleanup() {
	local p
	for p in "$WORK"/*.pid; do [[ -f $p ]] && PIDS+=("$(cat "$p")"); done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n ${BENCH_KEEP:-} ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { # port pid name
	for _ in $(seq 1 150); do
		if (: >/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
		kill -0 "$2" 2>/dev/null || { echo "$3 exited; log:" >&2; cat "$WORK/$3.log" >&2; exit 1; }
		sleep 0.2
	done
	echo "$3 did not listen on $1" >&2
	exit 1
}
rss() { awk '/^(VmRSS|VmHWM):/ {sub(":", "", $1); printf "%s\"%s\": %d", sep, $1, $2; sep=", "}' "/proc/$1/status"; }
cputicks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# ---- build and generate -------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "building feedgen, generating $N events"
go build -o "$BIN/feedgen" ./bench/feedgen
"$BIN/feedgen" -n "$N" -month "$MONTH" -out "$WORK/feed.ics" -dir "$WORK/objects" \
	-expected "$WORK/expected.txt" -get "$WORK/get.txt" 2>"$OUT/feedgen.txt"
cat "$OUT/feedgen.txt" >&2
GETUID=$(cat "$WORK/get.txt")
FEEDBYTES=$(stat -c %s "$WORK/feed.ics")

cat >"$WORK/propfind.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>
EOF
cat >"$WORK/query.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="$WSTART" end="$WEND"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>
EOF

# ---- Radicale: filesystem storage seeded directly ------------------------
RPORT=$(freeport)
RCOLL=$WORK/radicale/collections/collection-root/bench/feed
mkdir -p "$RCOLL"
cp "$WORK"/objects/*.ics "$RCOLL/"
echo '{"C:supported-calendar-component-set": "VEVENT", "tag": "VCALENDAR"}' >"$RCOLL/.Radicale.props"
cat >"$WORK/radicale/config" <<EOF
[server]
hosts = 127.0.0.1:$RPORT
[auth]
type = none
[storage]
filesystem_folder = $WORK/radicale/collections
[logging]
level = warning
EOF
radicale -C "$WORK/radicale/config" >"$WORK/radicale.log" 2>&1 &
RPID=$!
PIDS+=("$RPID")
wait_port "$RPORT" "$RPID" radicale
RURL=http://127.0.0.1:$RPORT/bench/feed/

# ---- Xandikos: a git-backed collection seeded on disk ---------------------
XPORT=$(freeport)
XCOLL=$WORK/xandikos/bench/calendars/feed
mkdir -p "$XCOLL"
cp "$WORK"/objects/*.ics "$XCOLL/"
printf '[DEFAULT]\ntype = calendar\n' >"$XCOLL/.xandikos"
git -C "$XCOLL" init -q
git -C "$XCOLL" add -A .
git -C "$XCOLL" -c user.name=bench -c user.email=bench@localhost commit -qm seed
xandikos -d "$WORK/xandikos" --current-user-principal /bench/ --autocreate \
	-l 127.0.0.1 -p "$XPORT" >"$WORK/xandikos.log" 2>&1 &
XPID=$!
PIDS+=("$XPID")
wait_port "$XPORT" "$XPID" xandikos
XURL=http://127.0.0.1:$XPORT/bench/calendars/feed/

# Both peers parse every object on first use (Radicale builds its item
# cache: ~100 s for 10k objects here). Warm them in the background while
# the Go side builds; nothing is measured until both are done.
log "warming Radicale and Xandikos (unmeasured)"
go build -o "$BIN/davload" ./bench/davload
"$BIN/davload" -d 0 -timeout 10m -url "$RURL" -X REPORT -H 'Depth: 1' -body-file "$WORK/query.xml" -u bench:$PW \
	-check-uids "$WORK/expected.txt" >"$OUT/radicale.warm.json" &
WARM1=$!
"$BIN/davload" -d 0 -timeout 10m -url "$XURL" -X REPORT -H 'Depth: 1' -body-file "$WORK/query.xml" -u bench:$PW \
	-check-uids "$WORK/expected.txt" >"$OUT/xandikos.warm.json" &
WARM2=$!
go build -o "$BIN/davgate" ./cmd/davgate
go build -o "$BIN/staticsrv" ./bench/staticsrv
HAVE_REFRESH_BENCH=0
if grep -qs 'func BenchmarkRefresh10k' adapters/ics/*_test.go; then
	go test -c -o "$BIN/ics.test" ./adapters/ics && HAVE_REFRESH_BENCH=1
fi
wait "$WARM1" "$WARM2"
log "warm: radicale $(jq -c '{ms,ok}' "$OUT/radicale.warm.json"), xandikos $(jq -c '{ms,ok}' "$OUT/xandikos.warm.json")"

# ---- feed refresh (Go benchmark by the ICS adapter) ----------------------
if ((HAVE_REFRESH_BENCH)); then
	log "BenchmarkRefresh10k"
	BT=5x
	((QUICK)) && BT=1x
	(cd adapters/ics && "$BIN/ics.test" -test.run XXX -test.bench Refresh10k -test.benchmem -test.benchtime $BT) \
		>"$OUT/refresh_bench.txt" 2>&1 || true
	cat "$OUT/refresh_bench.txt" >&2
fi

# ---- davgate ---------------------------------------------------------------
start_davgate() { # name url refresh-yaml-extra port
	cat >"$WORK/$1.yaml" <<EOF
listen: "127.0.0.1:$4"
log: {level: warn}
cache: {ttl: ${5:-30s}}
users:
  - name: bench
    password_env: BENCH_PW
    sources:
      - name: feed
        type: ics
        options: {url: "$2", allow_private: true$3}
EOF
	BENCH_PW=$PW "$BIN/davgate" serve -config "$WORK/$1.yaml" >"$WORK/$1.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$WORK/$1.pid" # for cleanup, should wait_port fail in this subshell
	wait_port "$4" "$pid" "$1"
	echo "$pid"
}
DPORT=$(freeport)
DPID=$(start_davgate davgate "$WORK/feed.ics" "" "$DPORT")
PIDS+=("$DPID")
DURL=http://127.0.0.1:$DPORT/dav/calendars/bench/feed/
# The first request after start waits for the first refresh of the feed.
"$BIN/davload" -d 0 -name cold -url "$DURL" -X REPORT -H 'Depth: 1' -body-file "$WORK/query.xml" -u bench:$PW \
	-check-uids "$WORK/expected.txt" >"$OUT/davgate.cold.json"
log "davgate cold first REPORT: $(jq -c '{ms,ok}' "$OUT/davgate.cold.json")"

# ---- net/http baseline: the same GET bytes from memory ---------------------
curl -sf -u bench:$PW "${DURL}${GETUID}.ics" -o "$WORK/get.ics"
SPORT=$(freeport)
"$BIN/staticsrv" -file "$WORK/get.ics" -addr 127.0.0.1:"$SPORT" >"$WORK/staticsrv.log" 2>&1 &
SPID=$!
PIDS+=("$SPID")
wait_port "$SPORT" "$SPID" staticsrv

# ---- workloads -------------------------------------------------------------
# Same concurrency for every server in a workload. PROPFIND and REPORT run
# one request at a time: one Radicale PROPFIND of 10k objects takes ~50 s,
# so more concurrency would only queue behind Python's GIL.
run() { # server workload url conc extra...
	local server=$1 wl=$2 url=$3 conc=$4
	shift 4
	log "$server $wl (c=$conc, $DUR)"
	"$BIN/davload" -name "$server/$wl" -d "$DUR" -c "$conc" -warmup 0 -url "$url" "$@" >"$OUT/$server.$wl.json"
	jq -c '{rps, p99_ms, errors, ok: .check.ok}' "$OUT/$server.$wl.json" >&2
}
workloads() { # server base-url pid
	local s=$1 u=$2
	run "$s" propfind "$u" 1 -X PROPFIND -H 'Depth: 1' -body-file "$WORK/propfind.xml" -u bench:$PW -status 207 -expect-hrefs "$N"
	run "$s" query "$u" 1 -X REPORT -H 'Depth: 1' -body-file "$WORK/query.xml" -u bench:$PW -status 207 -check-uids "$WORK/expected.txt"
	run "$s" get "${u}${GETUID}.ics" 4 -u bench:$PW -status 200 -expect-body "UID:$GETUID"
	echo "{$(rss "$3")}" >"$OUT/$s.rss.json"
}
workloads davgate "$DURL" "$DPID"
workloads radicale "$RURL" "$RPID"
workloads xandikos "$XURL" "$XPID"
run nethttp get "http://127.0.0.1:$SPORT/${GETUID}.ics" 4 -status 200 -expect-body "UID:$GETUID"
echo "{$(rss "$SPID")}" >"$OUT/nethttp.rss.json"

# ---- unchanged feed: one conditional GET, no re-parse ----------------------
# A second davgate fetches the feed over HTTP (staticsrv answers 304 to a
# matching If-None-Match), with refresh and cache TTL at 1 s. After the
# first load we poke it with cheap GETs for a few seconds and count what
# reached the origin and how much CPU davgate used meanwhile.
log "conditional refresh check"
FPORT=$(freeport)
"$BIN/staticsrv" -file "$WORK/feed.ics" -addr 127.0.0.1:"$FPORT" >"$WORK/feedsrv.log" 2>&1 &
FPID=$!
PIDS+=("$FPID")
wait_port "$FPORT" "$FPID" feedsrv
CPORT=$(freeport)
CPID=$(start_davgate davgate-cond "http://127.0.0.1:$FPORT/feed.ics" ", refresh: 1s" "$CPORT" 1s)
PIDS+=("$CPID")
CURL=http://127.0.0.1:$CPORT/dav/calendars/bench/feed/
curl -sf -u bench:$PW "${CURL}${GETUID}.ics" -o /dev/null
T0=$(cputicks "$CPID")
S0=$(curl -sf "http://127.0.0.1:$FPORT/_stats")
POKES=6
((QUICK)) && POKES=3
for _ in $(seq 1 "$POKES"); do
	sleep 1.1
	curl -sf -u bench:$PW "${CURL}${GETUID}.ics" -o /dev/null
done
T1=$(cputicks "$CPID")
S1=$(curl -sf "http://127.0.0.1:$FPORT/_stats")
jq -n --argjson s0 "$S0" --argjson s1 "$S1" --arg cpu "$(((T1 - T0) * 1000 / $(getconf CLK_TCK)))" \
	--arg pokes "$POKES" --arg hwm "$(awk '/VmHWM/{print $2}' /proc/"$CPID"/status)" \
	'{pokes: ($pokes|tonumber), seconds: (($pokes|tonumber)*1.1), first_fetch: $s0, fetches: ($s1.requests-$s0.requests),
	  conditional: ($s1.conditional-$s0.conditional), not_modified: ($s1.not_modified-$s0.not_modified),
	  bytes: ($s1.bytes-$s0.bytes), cpu_ms: ($cpu|tonumber), hwm_kb: ($hwm|tonumber)}' >"$OUT/conditional.json"
jq -c . "$OUT/conditional.json" >&2

# ---- report ----------------------------------------------------------------
cat >"$OUT/meta.json" <<EOF
{"quick": $QUICK, "n": $N, "duration": "$DUR", "month": "$MONTH", "feed_bytes": $FEEDBYTES,
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "nproc": $(nproc),
 "cpu": $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' | jq -R .),
 "kernel": "$(uname -r)", "go": "$(go env GOVERSION)",
 "radicale": "$(radicale --version 2>&1 | head -1)", "xandikos": "$(xandikos --version 2>&1 | awk '{print $NF}')",
 "commit": "$(git rev-parse --short HEAD)", "load_start": "$LOAD_START", "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)", "get_uid": "$GETUID"}
EOF
DOC=$ROOT/docs/benchmarks.md
((QUICK)) && DOC=$WORK/benchmarks.md
python3 "$ROOT/bench/report.py" "$OUT" >"$DOC.part"
# Replace only this script's section of the document, between its markers,
# so sections other benchmarks write (Google, migration) survive.
python3 - "$DOC" "$DOC.part" <<'PY'
import os, sys
doc, part = sys.argv[1], sys.argv[2]
body = open(part).read()
begin, end = "<!-- bench/run.sh:begin -->", "<!-- bench/run.sh:end -->"
old = open(doc).read() if os.path.exists(doc) else ""
section = begin + "\n" + body.rstrip("\n") + "\n" + end
if begin in old and end in old:
    new = old[:old.index(begin)] + section + old[old.index(end) + len(end):]
else:
    new = section + "\n"
open(doc + ".tmp", "w").write(new)
os.replace(doc + ".tmp", doc)
PY
rm -f "$DOC.part"
cat "$DOC"
((QUICK)) || log "wrote $DOC"
