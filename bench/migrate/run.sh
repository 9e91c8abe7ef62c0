#!/usr/bin/env bash
# davgate migrate vs vdirsyncer: the same generated feed (bench/feedgen),
# served over HTTP on loopback, copied into two fresh calendars of one
# Radicale, in the same run.
#
#   bash bench/migrate/run.sh            # 10,000 events
#   N=1000 bash bench/migrate/run.sh     # smaller
#
# vdirsyncer syncs a pair "http" (the feed) -> "caldav" (Radicale);
# davgate migrates an "ics" source with the same URL -> Radicale, creating
# its calendar with MKCALENDAR. Both runs are timed cold (empty target) and
# again with nothing to do. davgate's peak RSS comes from /usr/bin/time.
# Everything listens on 127.0.0.1; every process is stopped by PID on exit.
# BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-10000}
CONC=${CONC:-4}
PW=bench

WORK=$(mktemp -d /tmp/davgate-migrate-bench.XXXXXX)
PIDS=()
cleanup() {
	local p
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
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.1f}')"; }

log "building davgate and generating $N events"
if grep -q runMigrate cmd/davgate/main.go; then
	go build -o "$WORK/davgate" ./cmd/davgate
else
	# main.go does not dispatch the transfer commands yet: build with an
	# overlaid main.go that does, leaving the tree untouched.
	sed 's|\tcase "serve":|\tcase "migrate":\n\t\treturn runMigrate(ctx, args[1:], stdin, stdout, stderr)\n\tcase "verify":\n\t\treturn runVerify(ctx, args[1:], stdin, stdout, stderr)\n\tcase "serve":|' \
		cmd/davgate/main.go >"$WORK/main.go"
	printf '{"Replace":{"%s":"%s"}}' "$ROOT/cmd/davgate/main.go" "$WORK/main.go" >"$WORK/overlay.json"
	go build -overlay "$WORK/overlay.json" -o "$WORK/davgate" ./cmd/davgate
fi
mkdir -p "$WORK/feed"
go run ./bench/feedgen -n "$N" -out "$WORK/feed/feed.ics" >/dev/null

FEEDPORT=$(freeport)
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/feed" "$FEEDPORT" >"$WORK/feed.log" 2>&1 &
PIDS+=($!)
wait_port "$FEEDPORT" $! feed
FEED=http://127.0.0.1:$FEEDPORT/feed.ics

RPORT=$(freeport)
echo "alice:$PW" >"$WORK/users"
cat >"$WORK/radicale.conf" <<EOF
[server]
hosts = 127.0.0.1:$RPORT
max_content_length = 100000000
[auth]
type = htpasswd
htpasswd_filename = $WORK/users
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = $WORK/radicale
[logging]
level = warning
EOF
radicale -C "$WORK/radicale.conf" >"$WORK/radicale.log" 2>&1 &
PIDS+=($!)
wait_port "$RPORT" $! radicale
RADICALE=http://127.0.0.1:$RPORT

# vdirsyncer's caldav storage needs an existing calendar.
curl -sf -u "alice:$PW" -X MKCALENDAR "$RADICALE/alice/vdirsyncer/" >/dev/null
mkdir -p "$WORK/vds"
cat >"$WORK/vds/config" <<EOF
[general]
status_path = "$WORK/vds/status"

[pair feed]
a = "feed_http"
b = "feed_dav"
collections = null

[storage feed_http]
type = "http"
url = "$FEED"

[storage feed_dav]
type = "caldav"
url = "$RADICALE/alice/vdirsyncer/"
username = "alice"
password = "$PW"
EOF
cat >"$WORK/davgate.yaml" <<EOF
users:
  - name: bench
    password_hash: "\$2a\$10\$xgN0t7P4kcObTHLWSH8jr.e7MGTORrflyxy5MTSAp/k4CaDA2doj6"
    sources:
      - name: feed
        type: ics
        options:
          url: $FEED
          allow_private: true
          max_size: 200000000
EOF

export VDIRSYNCER_CONFIG=$WORK/vds/config
vds() { vdirsyncer "$@" >>"$WORK/vdirsyncer.log" 2>&1; }
dg() { # label [flags]: davgate migrate, timed with peak RSS
	DAVGATE_TO_PASSWORD=$PW /usr/bin/time -f '%M' -o "$WORK/$1.rss" "$WORK/davgate" migrate \
		--config "$WORK/davgate.yaml" --user bench --to "$RADICALE/" --to-user alice \
		--concurrency "$CONC" --state "$WORK/davgate.state" "${@:2}" >"$WORK/$1.out" 2>>"$WORK/davgate.log" ||
		{ echo "davgate migrate ($1) exited $?:" >&2; cat "$WORK/$1.out" >&2; tail -5 "$WORK/davgate.log" >&2; }
}

vds discover </dev/null
log "vdirsyncer: cold sync of $N events"
t0=$(now); vds sync; t1=$(now); VDS_COLD=$(secs "$t0" "$t1")
log "vdirsyncer: $VDS_COLD s; rerun"
t0=$(now); vds sync; t1=$(now); VDS_WARM=$(secs "$t0" "$t1")

log "davgate: cold migrate of $N events"
t0=$(now); dg cold; t1=$(now); DG_COLD=$(secs "$t0" "$t1")
log "davgate: $DG_COLD s; rerun"
t0=$(now); dg warm; t1=$(now); DG_WARM=$(secs "$t0" "$t1")
# Without the state file every object is compared by content instead.
dg stateless --state none

DAVGATE_TO_PASSWORD=$PW "$WORK/davgate" verify --config "$WORK/davgate.yaml" --user bench \
	--to "$RADICALE/" --to-user alice >"$WORK/verify.out" 2>&1 && VERIFY=pass || VERIFY=FAIL
VDS_N=$(find "$WORK/radicale/collection-root/alice/vdirsyncer" -maxdepth 1 -name '*.ics' | wc -l)
DG_N=$(find "$WORK/radicale/collection-root/alice/feed" -maxdepth 1 -name '*.ics' | wc -l)

echo
echo "## davgate migrate vs vdirsyncer ($N generated events, http feed -> Radicale $(radicale --version 2>/dev/null), loopback, $(nproc) cores)"
echo
echo "| tool | cold copy | rerun (nothing to do) | objects on target | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
echo "| vdirsyncer $(vdirsyncer --version | awk '{print $3}') | ${VDS_COLD} s | ${VDS_WARM} s | $VDS_N | - |"
echo "| davgate migrate (concurrency $CONC) | ${DG_COLD} s | ${DG_WARM} s | $DG_N | $(($(tail -1 "$WORK/cold.rss") / 1024)) MiB |"
echo
echo "speed-up (cold): $(python3 -c "print(f'{$VDS_COLD/$DG_COLD:.1f}x')"); verify: $VERIFY"
echo "davgate cold report: $(head -1 "$WORK/cold.out")"
echo "davgate rerun report: $(head -1 "$WORK/warm.out")"
echo "davgate rerun without state: $(head -1 "$WORK/stateless.out")"
