#!/usr/bin/env bash
# CI stage: `moegrad reproduce --slurm` against a REAL Slurm scheduler on this machine (no mock).
#
#   1. Debian's slurmctld, slurmd, slurm-client and munge (apt-get, as root or through passwordless sudo);
#   2. a single-node cluster for this host in a temp dir: its own slurm.conf (proctrack/linuxproc,
#      task/none, no accounting, the node's CPUs/memory from `slurmd -C`, free ports), munge key and
#      socket, pid/state/log dirs; munged, slurmctld and slurmd started as the CI user; wait (bounded)
#      until `sinfo` shows the node idle;
#   3. a quick sweep submitted by the CLI as a 4-task array job plus the dependent merge job, waited
#      for (bounded, polling squeue); every task and the merge must end COMPLETED;
#   4. the merged summary must equal an unsharded run's (the summary JSON minus provenance/timing);
#   5. the recovery path of the README: one shard's files deleted, `sbatch --array=3` re-runs
#      only that index, and `merge` again gives the same summary.
# The daemons it started are stopped by their pid files on exit (trap), jobs still queued are cancelled.
# Nothing is skipped: if a package cannot be installed or a daemon does not start, it prints why
# (the daemon's log) and exits 1.
# Usage: bash scripts/ci-slurm.sh   (MOEGRAD_SLURM_KEEP=1 keeps the temp dir for a look afterwards)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

t0=$(date +%s)
phase() { echo "[ci-slurm] $* (+$(( $(date +%s) - t0 ))s)"; }
die() { echo "[ci-slurm] FAILED: $*" >&2; exit 1; }
show() { for f in "$@"; do [ -s "$f" ] && { echo "---- $f (last 40 lines)"; tail -n 40 "$f"; }; done; return 0; }

# The sweep: the cheapest experiment with ≥ 2 sample sizes (16 cells, ~2 s of fitting each shard).
EXP=temperature-gating
SWEEP=(--quick --reps 2 --n-max 900)
TASKS=4
WAIT_S=${MOEGRAD_SLURM_WAIT_S:-600}

# 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else die "slurm/munge are not installed and $(id -un) is neither root nor has passwordless sudo to apt-get install them"; fi
  fi
  command -v apt-get >/dev/null 2>&1 || die "slurm/munge are not installed and there is no apt-get here"
  phase "apt-get update"
  $SUDO apt-get update -qq || die "apt-get update failed"
  phase "apt-get install slurmctld slurmd slurm-client munge"
  # policy-rc.d / no systemd in containers: the packages' own service starts may fail; we start our own daemons.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
    || die "apt-get install slurmctld slurmd slurm-client munge failed"
fi
phase "$(slurmctld -V), $(munged -V 2>&1 | head -n 1), node $(node --version)"

# 2. a private single-node cluster
tmp=$(mktemp -d /tmp/moegrad-slurm.XXXXXX)
chmod 711 "$tmp"   # munged wants its socket reachable (x) by all; nothing here is listable by others
mkdir -p "$tmp"/{munge,run,log,state/ctld,state/d,out}
chmod 711 "$tmp/munge"
export SLURM_CONF="$tmp/slurm.conf"
submitted=()

cleanup() {
  local rc=$?
  trap - EXIT
  if [ ${#submitted[@]} -gt 0 ] && [ -f "$tmp/run/slurmctld.pid" ]; then scancel "${submitted[@]}" >/dev/null 2>&1 || true; fi
  # Stop what we started, by pid file: slurmd, slurmctld, then munged (the others authenticate through it).
  for d in slurmd slurmctld munged; do
    local pf="$tmp/run/$d.pid"
    [ -f "$pf" ] || continue
    local pid; pid=$(cat "$pf" 2>/dev/null)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then echo "[ci-slurm] $d (pid $pid) did not stop on SIGTERM; SIGKILL"; kill -9 "$pid" 2>/dev/null; fi
  done
  if [ "$rc" -ne 0 ]; then show "$tmp/log/munged.log" "$tmp/log/slurmctld.log" "$tmp/log/slurmd.log"; fi
  if [ "${MOEGRAD_SLURM_KEEP:-0}" = 1 ]; then echo "[ci-slurm] kept $tmp"; else rm -rf "$tmp"; fi
  phase "daemons stopped; exit code $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

user=$(id -un)
host=$(hostname -s)
free_port() { local p; for p in $(seq "$1" "$(( $1 + 200 ))"); do if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi; done; return 1; }
ctld_port=$(free_port 16817) || die "no free TCP port for slurmctld"
slurmd_port=$(free_port $(( ctld_port + 1 ))) || die "no free TCP port for slurmd"
node_line=$(slurmd -C | head -n 1)
case "$node_line" in NodeName=*CPUs=*) ;; *) die "slurmd -C printed '$node_line', not a node description";; esac
node_line=$(echo "$node_line" | sed -E "s/^NodeName=[^ ]+/NodeName=$host NodeAddr=127.0.0.1/")
cpus=$(echo "$node_line" | sed -E 's/.*CPUs=([0-9]+).*/\1/')

cat >"$SLURM_CONF" <<EOF
# single-node test cluster written by scripts/ci-slurm.sh
ClusterName=moegradci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.socket.2
StateSaveLocation=$tmp/state/ctld
SlurmdSpoolDir=$tmp/state/d
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
$node_line State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
phase "slurm.conf: $node_line; ports $ctld_port/$slurmd_port; user $user"

# munge: own key, socket, pid, log and seed files
if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile="$tmp/munge/munge.key" >/dev/null 2>&1 || die "mungekey failed"
else dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none || die "cannot write a munge key"; fi
chmod 400 "$tmp/munge/munge.key"
munge_args=(--key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket.2" --pid-file="$tmp/run/munged.pid"
  --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/munged.seed")
[ "$(id -u)" -eq 0 ] && munge_args+=(--force)  # munged warns about running as root; this is a throwaway test daemon
munged "${munge_args[@]}" || { show "$tmp/log/munged.log"; die "munged did not start (log above)"; }
echo test | munge --socket="$tmp/munge/munge.socket.2" | unmunge --socket="$tmp/munge/munge.socket.2" >/dev/null \
  || { show "$tmp/log/munged.log"; die "munged runs but a munge/unmunge round trip failed"; }
phase "munged up (pid $(cat "$tmp/run/munged.pid"))"

# slurmctld and slurmd fork into the background and write their pid files; -c: no saved state
slurmctld -c -f "$SLURM_CONF" || { show "$tmp/log/slurmctld.log"; die "slurmctld did not start (log above)"; }
slurmd -c -f "$SLURM_CONF" || { show "$tmp/log/slurmd.log"; die "slurmd did not start (log above)"; }
state=""
for _ in $(seq 60); do
  state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n 1)
  [ "$state" = idle ] && break
  for d in slurmctld slurmd; do
    pf="$tmp/run/$d.pid"
    if [ -f "$pf" ] && ! kill -0 "$(cat "$pf")" 2>/dev/null; then show "$tmp/log/$d.log"; die "$d exited (log above)"; fi
  done
  sleep 1
done
[ "$state" = idle ] || { show "$tmp/log/slurmctld.log" "$tmp/log/slurmd.log"; sinfo -N -l 2>&1; die "node $host is '${state:-not listed}' after 60 s, not idle (logs above)"; }
phase "cluster up: $(sinfo -h -N -o '%N %T %c CPUs')"

# 3. the sweep as a Slurm array + dependent merge, submitted by the CLI
cli=(node "$repo/node_modules/tsx/dist/cli.mjs" "$repo/cli/moegrad.ts")
sharded="$tmp/out/sharded"
sub=$("${cli[@]}" reproduce "$EXP" "${SWEEP[@]}" --slurm --array-size "$TASKS" --out "$sharded" 2>&1) || { echo "$sub"; die "reproduce --slurm failed"; }
echo "$sub"
array_id=$(echo "$sub" | sed -nE 's/^submitted array job ([0-9]+) .*/\1/p')
merge_id=$(echo "$sub" | sed -nE 's/.* and merge job ([0-9]+) .*/\1/p')
[ -n "$array_id" ] && [ -n "$merge_id" ] || die "could not read the job ids from the CLI's output"
submitted=("$array_id" "$merge_id")
grep -q "^#SBATCH --array=1-$TASKS\$" "$sharded/slurm/$EXP.array.sh" || die "the array script has no #SBATCH --array=1-$TASKS"
squeue -h -j "$merge_id" -o '%E' | grep -q "afterok:$array_id" || phase "(merge job already past its dependency)"

# Meanwhile, the same sweep unsharded on this machine (the reference summary).
"${cli[@]}" reproduce "$EXP" "${SWEEP[@]}" --workers 1 --out "$tmp/out/whole" >"$tmp/log/whole.log" 2>&1 || { show "$tmp/log/whole.log"; die "the unsharded run failed"; }
phase "unsharded reference run done"

wait_jobs() {  # wait_jobs <seconds> <job id>...: until squeue lists none of them
  local deadline=$(( $(date +%s) + $1 )); shift
  local ids; ids=$(IFS=,; echo "$*")
  while [ -n "$(squeue -h -j "$ids" -o '%i' 2>/dev/null)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { squeue -j "$ids"; return 1; }
    sleep 2
  done
}
wait_jobs "$WAIT_S" "$array_id" "$merge_id" || { show "$sharded"/slurm/*.out; die "jobs still queued/running after ${WAIT_S}s"; }
states=$( { scontrol -o show job "$array_id"; scontrol -o show job "$merge_id"; } 2>&1 | sed -nE 's/^JobId=([0-9]+)( ArrayJobId=[0-9]+ ArrayTaskId=([0-9]+))?.* JobState=([A-Z_]+).*/\1 task=\3 \4/p')
echo "$states" | sed 's/^/[ci-slurm]   job /'
[ "$(echo "$states" | grep -c ' COMPLETED$')" -eq $(( TASKS + 1 )) ] || { show "$sharded"/slurm/*.out; die "not every array task and the merge COMPLETED"; }
phase "array job $array_id ($TASKS tasks) and merge job $merge_id COMPLETED"
for i in $(seq "$TASKS"); do [ -f "$sharded/$EXP.shard-$i-of-$TASKS.cells.json" ] || die "no shard file $i of $TASKS"; done
ls "$sharded" | grep -E '\.tmp$' && die "a .tmp file was left behind"

# 4. merged summary == unsharded summary (minus provenance and timing)
same() {  # same <a.json> <b.json>
  node -e '
    const fs = require("node:fs");
    const drop = new Set(["provenance", "seconds", "workers", "shard", "mergedFrom", "missingCells"]);
    const load = (f) => Object.fromEntries(Object.entries(JSON.parse(fs.readFileSync(f, "utf8"))).filter(([k]) => !drop.has(k)));
    const a = load(process.argv[1]), b = load(process.argv[2]);
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    if (keys.length) { console.error("[ci-slurm] summaries differ in: " + keys.join(", ")); process.exit(1); }
    console.log(`[ci-slurm] summaries equal (${Object.keys(a).length} fields compared: ${a.rows.length} rows, ${a.fits.length} rate fits)`);
  ' "$1" "$2"
}
same "$tmp/out/whole/$EXP.json" "$sharded/$EXP.json" || die "the merged summary differs from the unsharded run's"

# 5. recovery: task 3's results lost; re-run only that index, then merge again
rm -f "$sharded/$EXP.shard-3-of-$TASKS".* "$sharded/$EXP.json"
"${cli[@]}" merge "$sharded" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || die "merge with shard 3 missing exited $rc, not 2"
rerun=$(sbatch --parsable --array=3 "$sharded/slurm/$EXP.array.sh" 2>&1) || { echo "$rerun"; die "sbatch --array=3 failed"; }
rerun=${rerun%%;*}
submitted+=("$rerun")
wait_jobs "$WAIT_S" "$rerun" || { show "$sharded"/slurm/*.out; die "the re-run of index 3 is still queued/running after ${WAIT_S}s"; }
scontrol -o show job "$rerun" 2>&1 | grep -q 'JobState=COMPLETED' || { show "$sharded"/slurm/*.out; die "the re-run of index 3 did not complete"; }
[ -f "$sharded/$EXP.shard-3-of-$TASKS.cells.json" ] || die "the re-run of index 3 wrote no shard-3-of-$TASKS file"
"${cli[@]}" merge "$sharded" >"$tmp/log/remerge.log" 2>&1 || { show "$tmp/log/remerge.log"; die "merge after the re-run failed"; }
same "$tmp/out/whole/$EXP.json" "$sharded/$EXP.json" || die "after re-running index 3 the summary differs"
phase "re-running array index 3 alone restored shard 3/$TASKS; merge equal again"
phase "ok"
