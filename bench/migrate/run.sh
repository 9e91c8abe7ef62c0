#!/usr/bin/env bash
# davgate migrate vs vdirsyncer: the same generated feed (bench/feedgen),
# served over HTTP on loopback, copied into a fresh Radicale (default
# settings) per tool, in the same run.
#
#   bash bench/migrate/run.sh            # 10,000 events
#   N=1000 bash bench/migrate/run.sh     # smaller
#
# vdirsyncer syncs a pair "http" (the feed) -> "caldav" (Radicale);
# davgate migrates an "ics" source with the same URL -> Radicale, creating
# its calendar (and, where the server takes it, filling the new calendar
# with one whole-calendar PUT). Both runs are timed cold (empty target) and
# again with nothing to do. davgate's peak RSS is VmHWM from
# /proc/PID/status, sampled until it exits.
#
# vdirsyncer's cold sync is stopped after VDS_TIMEOUT seconds (default 900):
# Radicale's per-PUT cost grows with the collection, so 10,000 objects one
# by one take over an hour. Then its time for all N is extrapolated from
# the progress samples (objects on disk every 10 s), fitted as
# t(n) = a*n + b*n^2, and the report says so.
#
# Everything listens on 127.0.0.1; every process is stopped by PID on exit.
# BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-10000}
CONC=${CONC:-4}
VDS_TIMEOUT=${VDS_TIMEOUT:-900}
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
go build -o "$WORK/davgate" ./cmd/davgate
mkdir -p "$WORK/feed"
go run ./bench/feedgen -n "$N" -out "$WORK/feed/feed.ics" >/dev/null

FEEDPORT=$(freeport)
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/feed" "$FEEDPORT" >"$WORK/feed.log" 2>&1 &
PIDS+=($!)
wait_port "$FEEDPORT" $! feed
FEED=http://127.0.0.1:$FEEDPORT/feed.ics

echo "alice:$PW" >"$WORK/users"
RADICALE_PID=
radicale_start() { # name: a fresh Radicale with its own storage; sets RADICALE
	local port
	port=$(freeport)
	cat >"$WORK/radicale-$1.conf" <<EOF
[server]
hosts = 127.0.0.1:$port
[auth]
type = htpasswd
htpasswd_filename = $WORK/users
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = $WORK/radicale-$1
[logging]
level = warning
EOF
	radicale -C "$WORK/radicale-$1.conf" >"$WORK/radicale-$1.log" 2>&1 &
	RADICALE_PID=$!
	PIDS+=("$RADICALE_PID")
	wait_port "$port" "$RADICALE_PID" "radicale-$1"
	RADICALE=http://127.0.0.1:$port
}
radicale_stop() { kill "$RADICALE_PID" 2>/dev/null || true; wait "$RADICALE_PID" 2>/dev/null || true; }

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
dg() { # label [flags]: davgate migrate, peak RSS (KiB) from VmHWM into $WORK/label.rss
	local pid hwm=0 h rc=0
	DAVGATE_TO_PASSWORD=$PW "$WORK/davgate" migrate \
		--config "$WORK/davgate.yaml" --user bench --to "$RADICALE/" --to-user alice \
		--concurrency "$CONC" --state "$WORK/davgate.state" "${@:2}" >"$WORK/$1.out" 2>>"$WORK/davgate.log" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		h=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		if [[ -n $h ]] && ((h > hwm)); then hwm=$h; fi
		sleep 0.1
	done
	wait "$pid" || rc=$?
	echo "$hwm" >"$WORK/$1.rss"
	if ((rc != 0)); then
		echo "davgate migrate ($1) exited $rc:" >&2
		cat "$WORK/$1.out" >&2
		tail -5 "$WORK/davgate.log" >&2
	fi
}

# davgate, on its own Radicale.
radicale_start davgate
log "davgate: cold migrate of $N events"
t0=$(now); dg cold; t1=$(now); DG_COLD=$(secs "$t0" "$t1")
log "davgate: $DG_COLD s; rerun"
t0=$(now); dg warm; t1=$(now); DG_WARM=$(secs "$t0" "$t1")
# Without the state file every object is compared by content instead.
dg stateless --state none
DAVGATE_TO_PASSWORD=$PW "$WORK/davgate" verify --config "$WORK/davgate.yaml" --user bench \
	--to "$RADICALE/" --to-user alice >"$WORK/verify.out" 2>&1 && VERIFY=pass || VERIFY=FAIL
DG_N=$(find "$WORK/radicale-davgate/collection-root/alice/feed" -maxdepth 1 -name '*.ics' | wc -l)
radicale_stop

# vdirsyncer, on a fresh Radicale; its caldav storage needs an existing
# calendar.
radicale_start vdirsyncer
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
export VDIRSYNCER_CONFIG=$WORK/vds/config
VDS_DIR=$WORK/radicale-vdirsyncer/collection-root/alice/vdirsyncer
vds_count() { find "$VDS_DIR" -maxdepth 1 -name '*.ics' | wc -l; }
vdirsyncer discover </dev/null >>"$WORK/vdirsyncer.log" 2>&1
log "vdirsyncer: cold sync of $N events (stopped after $VDS_TIMEOUT s)"
t0=$(now)
timeout "$VDS_TIMEOUT" vdirsyncer sync >>"$WORK/vdirsyncer.log" 2>&1 &
VPID=$!
: >"$WORK/vds.progress"
i=0
while kill -0 "$VPID" 2>/dev/null; do
	sleep 0.5
	if (((i += 1) % 20 == 0)); then echo "$(secs "$t0" "$(now)") $(vds_count)" >>"$WORK/vds.progress"; fi
done
VRC=0
wait "$VPID" || VRC=$?
t1=$(now)
VDS_COLD=$(secs "$t0" "$t1")
VDS_N=$(vds_count)
echo "$VDS_COLD $VDS_N" >>"$WORK/vds.progress"
if ((VRC == 124)); then
	# Least squares for t = a*n + b*n^2 over the samples, evaluated at N.
	VDS_REF=$(python3 - "$WORK/vds.progress" "$N" <<'PY'
import sys
pts = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
pts = [(t, n) for t, n in pts if n > 0]
x = float(sys.argv[2])
s11 = sum(n**2 for _, n in pts); s12 = sum(n**3 for _, n in pts); s22 = sum(n**4 for _, n in pts)
r1 = sum(t*n for t, n in pts); r2 = sum(t*n*n for t, n in pts)
det = s11*s22 - s12*s12
if len(pts) < 3 or det == 0:  # too few samples: linear, a lower bound
    t, n = pts[-1]
    print(f"{t*x/n:.0f}")
else:
    a = (r1*s22 - r2*s12)/det; b = (s11*r2 - s12*r1)/det
    print(f"{max(a*x + b*x*x, pts[-1][0]*x/pts[-1][1]):.0f}")
PY
)
	VDS_COLD_TXT="stopped after ${VDS_COLD} s with $VDS_N of $N copied; all $N extrapolated: ~${VDS_REF} s"
	VDS_WARM_TXT="-"
	log "vdirsyncer: stopped after $VDS_COLD s at $VDS_N objects"
else
	VDS_COLD_TXT="${VDS_COLD} s"
	VDS_REF=$VDS_COLD
	log "vdirsyncer: $VDS_COLD s; rerun"
	t0=$(now); vdirsyncer sync >>"$WORK/vdirsyncer.log" 2>&1; t1=$(now)
	VDS_WARM_TXT="$(secs "$t0" "$t1") s"
fi
radicale_stop

echo
echo "## davgate migrate vs vdirsyncer ($N generated events, http feed -> Radicale $(radicale --version 2>/dev/null), default settings, a fresh one per tool, loopback, $(nproc) cores)"
echo
echo "| tool | cold copy | rerun (nothing to do) | objects on target | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
echo "| vdirsyncer $(vdirsyncer --version | awk '{print $3}') | $VDS_COLD_TXT | $VDS_WARM_TXT | $VDS_N | - |"
echo "| davgate migrate (concurrency $CONC) | ${DG_COLD} s | ${DG_WARM} s | $DG_N | $(($(cat "$WORK/cold.rss") / 1024)) MiB |"
echo
echo "speed-up (cold): $(python3 -c "print(f'{$VDS_REF/$DG_COLD:.1f}x')"); verify: $VERIFY"
echo "davgate cold report: $(head -1 "$WORK/cold.out")"
echo "davgate rerun report: $(head -1 "$WORK/warm.out")"
echo "davgate rerun without state: $(head -1 "$WORK/stateless.out") (peak RSS $(($(cat "$WORK/stateless.rss") / 1024)) MiB)"
echo "vdirsyncer progress (seconds, objects on target): $(tr '\n' ' ' <"$WORK/vds.progress")"
