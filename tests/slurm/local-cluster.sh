#!/usr/bin/env bash
# A one-node Slurm cluster on localhost for the farm tests: munged, slurmctld and slurmd, all
# configured in one temporary folder (nothing under /etc is touched), run as the current user.
#
#   tests/slurm/local-cluster.sh start [DIR]   start it (DIR: default $TMPDIR/micromotion-slurm);
#                                              prints `export SLURM_CONF=DIR/slurm.conf`
#   tests/slurm/local-cluster.sh stop [DIR]    stop it and remove DIR
#
# Client commands (sbatch, squeue, scancel) find it through SLURM_CONF. Installs its packages
# through packaging/install-deps.sh when they are missing. Idempotent: start on a running
# cluster waits for it and prints the same line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-${TMPDIR:-/tmp}/micromotion-slurm}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Job steps left behind by a killed slurmd.
  pkill -f "slurmstepd.*$dir" 2>/dev/null || true
  rm -rf "$dir"
}

case "$cmd" in
  stop) stop; echo "local-cluster: stopped"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop [DIR]" >&2; exit 2 ;;
esac

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
   || ! command -v sbatch >/dev/null; then
  bash "$here/../../packaging/install-deps.sh" >&2
fi

export SLURM_CONF="$dir/slurm.conf"
if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null \
   && sinfo -h >/dev/null 2>&1; then
  echo "export SLURM_CONF=$SLURM_CONF"
  exit 0
fi
stop
mkdir -p "$dir"/{state,spool,log,munge}
chmod 700 "$dir/munge"
user=$(id -un)
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)

# munge: a fresh key, its own socket (a system munged, if any, is left alone).
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
munged --key-file="$dir/munge/munge.key" --socket="$socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" --force

cat > "$SLURM_CONF" <<CONF
ClusterName=micromotion-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmctldPort=$((17000 + RANDOM % 2000))
SlurmdPort=$((19000 + RANDOM % 2000))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
LaunchParameters=enable_nss_slurm
KillWait=10
MinJobAge=600
SchedulerParameters=defer_batch=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
: > "$dir/cgroup.conf"

slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"
for _ in $(seq 150); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "local-cluster: the node did not come up; logs in $dir/log:" >&2
tail -n 20 "$dir"/log/*.log >&2 || true
exit 1
