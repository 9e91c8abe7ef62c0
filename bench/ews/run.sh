#!/usr/bin/env bash
# davgate vs DavMail over the same fake Exchange (ewstest, 500 events).
#
#   bash bench/ews/run.sh            # prints per-phase lines and a markdown table
#
# One standalone fake EWS (cmd/davgate/e2e/ewsfake) holds a generated
# 500-event calendar and counts SOAP calls (control endpoint /calls). The
# same client workload (bench/ews/workload.py: PROPFIND Depth:1 getetag,
# one calendar-multiget of every object, then a no-change re-sync after
# 1.5 s) runs through DavMail 6 (Debian davmail-server, headless, EWS mode)
# and then through `davgate serve` (ews source, cache ttl 1s, so the re-sync
# reaches Exchange; davgate re-syncs with sync-collection, DavMail has none
# and re-lists with PROPFIND). Reported per gateway: SOAP calls, wall time,
# and VmHWM (peak resident memory) after the workload. Everything listens
# on 127.0.0.1; every process is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${EWS_BENCH_EVENTS:-500}
WORK=$(mktemp -d /tmp/davgate-ews-bench.XXXXXX)
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
	for _ in $(seq 1 300); do
		if (: >/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
		kill -0 "$2" 2>/dev/null || { echo "$3 exited; log:" >&2; cat "$WORK/$3.log" >&2; exit 1; }
		sleep 0.2
	done
	echo "$3 did not listen on $1" >&2
	exit 1
}
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; } # kB
[[ -x /usr/bin/davmail-server ]] || { echo "install DavMail: apt-get install davmail-server" >&2; exit 1; }

log "building ewsfake and davgate"
go build -o "$WORK/ewsfake" ./cmd/davgate/e2e/ewsfake
go build -o "$WORK/davgate" ./cmd/davgate

CPORT=$(freeport)
"$WORK/ewsfake" -events "$N" -control "127.0.0.1:$CPORT" -url-file "$WORK/ews.url" >"$WORK/ewsfake.log" 2>&1 &
PIDS+=($!)
wait_port "$CPORT" "${PIDS[-1]}" ewsfake
EWS_URL=$(cat "$WORK/ews.url")
CONTROL=http://127.0.0.1:$CPORT
log "fake EWS at $EWS_URL with $N events"

# ---- DavMail --------------------------------------------------------------
DPORT=$(freeport)
cat >"$WORK/davmail.properties" <<PROPS
davmail.server=true
davmail.mode=EWS
davmail.url=$EWS_URL
davmail.caldavPort=$DPORT
davmail.imapPort=
davmail.smtpPort=
davmail.popPort=
davmail.ldapPort=
davmail.bindAddress=127.0.0.1
davmail.allowRemote=false
davmail.ssl.nosecurecaldav=true
davmail.ssl.keystoreFile=
davmail.disableUpdateCheck=true
davmail.enableProxy=false
davmail.useSystemProxies=false
davmail.enableKerberos=false
davmail.showStartupBanner=false
davmail.disableGuiNotifications=true
davmail.disableTrayActivitySwitch=true
davmail.caldavPastDelay=0
davmail.timezoneId=W. Europe Standard Time
davmail.logFilePath=$WORK/davmail-internal.log
davmail.logFileSize=0
log4j.rootLogger=WARN
log4j.logger.davmail=WARN
log4j.logger.httpclient.wire=WARN
log4j.logger.httpclient=WARN
PROPS
# /usr/bin/davmail-server execs java: $! is the JVM.
/usr/bin/davmail-server "$WORK/davmail.properties" >"$WORK/davmail.log" 2>&1 &
DMPID=$!
PIDS+=($DMPID)
wait_port "$DPORT" "$DMPID" davmail
log "DavMail (pid $DMPID) on $DPORT"
python3 bench/ews/workload.py davmail "http://127.0.0.1:$DPORT/users/user@example.test/calendar/" \
	user@example.test secret "$CONTROL" >"$WORK/davmail.json"
DM_HWM=$(hwm "$DMPID")
kill "$DMPID"; wait "$DMPID" 2>/dev/null || true

# ---- davgate --------------------------------------------------------------
GPORT=$(freeport)
cat >"$WORK/davgate.yaml" <<YAML
listen: "127.0.0.1:$GPORT"
log: {level: warn}
cache: {ttl: 1s}
users:
  - name: bench
    password_env: BENCH_PASSWORD
    sources:
      - name: ex
        type: ews
        options: {url: "$EWS_URL", username: user@example.test, password_env: BENCH_EWS_PASSWORD}
YAML
BENCH_PASSWORD=bench BENCH_EWS_PASSWORD=secret "$WORK/davgate" serve -config "$WORK/davgate.yaml" >"$WORK/davgate.log" 2>&1 &
DGPID=$!
PIDS+=($DGPID)
wait_port "$GPORT" "$DGPID" davgate
log "davgate (pid $DGPID) on $GPORT"
python3 bench/ews/workload.py davgate "http://127.0.0.1:$GPORT/dav/calendars/bench/ex~calendar/" \
	bench bench "$CONTROL" sync >"$WORK/davgate.json"
DG_HWM=$(hwm "$DGPID")

# ---- report -----------------------------------------------------------------
python3 - "$WORK/davmail.json" "$WORK/davgate.json" "$DM_HWM" "$DG_HWM" "$N" <<'PY'
import json, sys
dm, dg = (json.load(open(p)) for p in sys.argv[1:3])
dmh, dgh, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [("first request (PROPFIND Depth:0; login, davgate fills its mirror)", "warmup"),
        ("PROPFIND Depth:1 (getetag)", "propfind"), ("calendar-multiget of all objects", "multiget"),
        ("no-change re-sync (DavMail: PROPFIND; davgate: sync-collection)", "resync")]
print("| Step (%d events) | DavMail SOAP calls | davgate SOAP calls | DavMail wall | davgate wall |" % n)
print("|---|---:|---:|---:|---:|")
for label, k in rows:
    a, b = dm["phases"][k], dg["phases"][k]
    print("| %s | %d | %d | %.3f s | %.3f s |" % (label, a["soap"], b["soap"], a["wall_s"], b["wall_s"]))
ta, tb = dm["total"], dg["total"]
print("| **total** | **%d** | **%d** | **%.3f s** | **%.3f s** |" % (ta["soap"], tb["soap"], ta["wall_s"], tb["wall_s"]))
print("| peak RSS (VmHWM) after the workload | | | %.0f MiB | %.0f MiB |" % (dmh / 1024, dgh / 1024))
print()
# DavMail 6.0.1 re-runs its time-zone probe (a temporary folder and item)
# whenever the probe fails, which it does against ewstest: count the
# workload without those calls too, as on an Exchange where it succeeds.
mg = dm["phases"]["multiget"]["calls"]
probe = sum(mg.get(k, 0) for k in ("GetUserConfiguration", "CreateFolder", "CreateItem", "DeleteFolder", "FindFolder")) + mg.get("CreateItem", 0)
print("davgate/DavMail: SOAP calls %.4f (target <= 0.1), wall time %.3f (target <= 0.2), "
      "peak RSS %.3f (target <= 0.2); davgate no-change re-sync: %d SOAP call(s) (target <= 1)" % (
          tb["soap"] / max(ta["soap"], 1), tb["wall_s"] / ta["wall_s"], dgh / dmh, dg["phases"]["resync"]["soap"]))
print("DavMail without its failing time-zone probe (%d calls): %d SOAP calls; davgate/DavMail %.4f" % (
    probe, ta["soap"] - probe, tb["soap"] / max(ta["soap"] - probe, 1)))
print()
for who, r in (("DavMail", dm), ("davgate", dg)):
    print("SOAP operations, %s: %s" % (who, {k: r["phases"][k]["calls"] for k in ("warmup", "propfind", "multiget", "resync")}))
PY
