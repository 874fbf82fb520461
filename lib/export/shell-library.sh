# The bash functions a shell export (lib/export/shell.ts) calls, copied into each script. Each
# does one kind of planned action as lib/apply does it (lib/apply/actions.ts) and registers its
# undo only once the change is made, so that the EXIT trap undoes exactly what was done, last
# first. Host paths come in with ${ROOT} in front. Expects VM, TOTAL, ROOT, WRAP and QEMU set.
UNDO=()     # shell code, one entry per change made; run last first when the script exits
declare -A SAVED=() RESTORED=() OWNERS=() ADDED=() HELPERS=()
QEMU_PID= QEMU_STATUS= FOLLOWER= SIGNALS=0
STATE=$(mktemp -d "${TMPDIR:-/tmp}/boot-vm-$VM.XXXXXX")   # old values until they are put back

say() { printf '%s: %s\n' "$VM" "$*" >&2; }
step() { say "[$1/$TOTAL] $2"; }
undo() { UNDO+=("$1"); }
# A host command. Against a ROOT tree it would act on this machine, not on the tree: printed, not run.
run() { if [[ -n $ROOT ]]; then say "logged, not run: $* ($ROOT is not the live host)"; else "$@"; fi; }
# A value to a kernel file, a newline added.
put() { printf '%s\n' "$2" > "$1" || { say "writing $2 to $1 failed"; return 1; }; }
# Until the command succeeds, every 0.1 s for up to SECONDS seconds.
poll() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}
# A process of this machine (so /proc, not ${ROOT}/proc), a zombie not counted.
alive() {
  local stat
  { stat=$(< "/proc/$1/stat"); } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}
# Files are given to another user on the live host, or in a ROOT tree by root.
may_chown() { [[ -z $ROOT ]] || (( EUID == 0 )); }
chown_maybe() { if may_chown; then chown -- "$1" "$2"; else say "logged, not run: chown $1 $2 (not root)"; fi; }

# set_value PATH VALUE UNDO: a value the kernel keeps; its first old text is kept for restore_value.
set_value() {
  local old
  old=$(< "$1") || return 1
  [[ $old == "$2" ]] && return 0
  if [[ -z ${SAVED[$1]+set} ]]; then
    SAVED[$1]=$STATE/value.${#SAVED[@]}
    cat -- "$1" > "${SAVED[$1]}" || return 1
  fi
  put "$1" "$2" || return 1
  undo "$3"
}
# Once per path. The live kernel reads an unset driver_override as (null) and unsets it with an
# empty line; a ROOT tree gets its exact text back.
restore_value() {
  [[ -n ${RESTORED[$1]+set} || -z ${SAVED[$1]+set} ]] && return 0
  RESTORED[$1]=1
  if [[ -n $ROOT ]]; then
    cat -- "${SAVED[$1]}" > "$1"
  else
    local old
    old=$(< "${SAVED[$1]}")
    [[ $old == '(null)' ]] && old=
    put "$1" "$old"
  fi
}

# make_dir DIR UNDO: DIR and its missing parents, each removed again (DIR by UNDO when given).
make_dir() {
  local dir=$1 code= made=()
  while [[ $dir != / && ! -e $dir ]]; do
    made+=("$dir")
    dir=$(dirname -- "$dir")
  done
  (( ${#made[@]} > 0 )) || return 0
  for dir in "${made[@]}"; do
    if [[ $dir == "$1" && -n $2 ]]; then code+="$2; "; else code+="remove_dir $(printf '%q' "$dir"); "; fi
  done
  undo "${code%; }"
  mkdir -p -- "$1"
}
remove_dir() { [[ ! -d $1 ]] || rmdir -- "$1"; }
# A directory kept afterwards (swtpm's state): made when missing, nothing undone.
make_kept_dir() {
  [[ -e $1 ]] && return 0
  mkdir -p -- "$1" && chmod "$2" "$1" || return 1
  [[ $3 == - ]] || chown_maybe "$3" "$1"
}
# copy_file FROM TO MODE OWNER: made beside TO, then renamed; kept afterwards.
copy_file() {
  local new=$2.new.$$
  mkdir -p -- "$(dirname -- "$2")" && cp -- "$1" "$new" && chmod "$3" "$new" || return 1
  [[ $4 == - ]] || chown_maybe "$4" "$new" || return 1
  mv -f -- "$new" "$2"
}
# give PATH UID:GID UNDO: the old owner and mode are kept for give_back.
give() {
  local was
  if ! may_chown; then say "logged, not run: chown $2 $1 (not root)"; return 0; fi
  was=$(stat -c '%u:%g %a' -- "$1") && chown -- "$2" "$1" || return 1
  [[ -n ${OWNERS[$1]+set} ]] || OWNERS[$1]=$was
  undo "$3"
}
# set_owner PATH MODE|- UID:GID|- UNDO
set_owner() {
  local was changed=
  was=$(stat -c '%u:%g %a' -- "$1") || return 1
  if [[ $3 != - ]]; then
    if may_chown; then chown -- "$3" "$1" || return 1; changed=1; else say "logged, not run: chown $3 $1 (not root)"; fi
  fi
  if [[ $2 != - ]]; then chmod "$2" "$1" || return 1; changed=1; fi
  [[ -n $changed ]] || return 0
  [[ -n ${OWNERS[$1]+set} ]] || OWNERS[$1]=$was
  undo "$4"
}
give_back() {
  [[ -n ${OWNERS[$1]+set} && -e $1 ]] || return 0
  chown -- "${OWNERS[$1]% *}" "$1" && chmod "${OWNERS[$1]#* }" "$1"
}
# create_file PATH MODE UID:GID|- UNDO: a new empty file, never over one that is there.
create_file() {
  ( set -C; : > "$1" ) 2>/dev/null || { say "$1 exists (or cannot be made): something else made it; look at it, then run this again"; return 1; }
  undo "$4"
  [[ $3 == - ]] || chown_maybe "$3" "$1" || return 1
  chmod "$2" "$1"
}
wait_char_device() {
  # In a ROOT tree no kernel makes devices: what is there is all there will be.
  [[ -n $ROOT ]] || poll "$2" test -e "$1" || true
  [[ -e $1 ]] || { say "there is no $1"; return 1; }
  [[ -c $1 ]] || { say "$1 is not a character device (a QEMU started while the device was missing makes a file there); remove it, then reload the module that makes the device"; return 1; }
}
driver_is() {
  local link
  link=$(readlink -- "$ROOT/sys/bus/pci/devices/$1/driver") && [[ ${link##*/} == "$2" ]]
}
# wait_driver DEVICE DRIVER SECONDS: the kernel binds asynchronously.
wait_driver() {
  if [[ -n $ROOT ]]; then say "did not wait for $1 to be on $2: $ROOT is not the live host"; return 0; fi
  poll "$3" driver_is "$1" "$2" || { say "$1 is not on $2 after $3 s"; return 1; }
}
# stop_service UNIT UNDO: only a unit it stopped is started again.
stop_service() {
  if [[ -n $ROOT ]]; then
    say "logged, not run: systemctl is-active --quiet $1 && systemctl stop $1 ($ROOT is not the live host)"
  elif ! systemctl is-active --quiet "$1"; then
    say "$1 is not running: left alone"
    return 0
  else
    systemctl stop "$1" || return 1
  fi
  undo "$2"
}
# unload_modules SECONDS MODULE...: each loaded one removed once nothing uses it, loaded again afterwards.
unload_modules() {
  local seconds=$1 module
  shift
  for module; do
    if [[ ! -d $ROOT/sys/module/${module//-/_} ]]; then say "$module is not loaded"; continue; fi
    if [[ -n $ROOT ]]; then
      say "logged, not run: rmmod $module ($ROOT is not the live host)"
    elif ! poll "$seconds" rmmod "$module" 2>/dev/null; then
      say "refusing to unload $module: still in use after $seconds s (holders: $(ls "/sys/module/${module//-/_}/holders" 2>/dev/null | tr '\n' ' '); look at lsof /dev/dri/* /dev/nvidia*)"
      return 1
    fi
    undo "run modprobe $(printf '%q' "$module")"
  done
}
# reserve_hugepages NR_HUGEPAGES ADD SIZE UNDO: the kernel reserves what it can and says so only in the count read back.
reserve_hugepages() {
  local before got
  before=$(< "$1") || return 1
  ADDED[$1]=0
  undo "$4"
  put "$1" $((before + $2)) || return 1
  got=$(( $(< "$1") - before ))
  (( got <= 0 )) || ADDED[$1]=$got
  (( got >= $2 )) || { say "asked the kernel for $2 more $3 pages, got $got: memory is short or too fragmented; free some, or reserve them at boot (hugepages= on the kernel command line)"; return 1; }
}
# Gives back exactly the pages added.
release_hugepages() {
  local added=${ADDED[$1]:-0} now
  (( added > 0 )) || return 0
  now=$(< "$1") || return 1
  put "$1" $(( now > added ? now - added : 0 ))
}
# start_helper NAME SOCKET LOG SECONDS UNDO ARGV...: in the background until it makes SOCKET.
start_helper() {
  local name=$1 socket=$2 log=$3 seconds=$4 code=$5
  shift 5
  if [[ -n $ROOT ]]; then say "logged, not run: $* 2> $log ($ROOT is not the live host)"; return 0; fi
  "$@" 2> "$log" &
  HELPERS[$name]=$!
  undo "$code"
  poll "$seconds" test -S "$socket" || { say "$name did not make $socket in $seconds s (its messages: $log)"; return 1; }
}
# stop_helper NAME SECONDS: SIGTERM, then SIGKILL after SECONDS.
stop_helper() {
  local pid=${HELPERS[$1]:-}
  [[ -n $pid ]] && alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  poll "$2" eval "! alive $pid" || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# CPU lists as the kernel writes them (0-3,8), without a fork (the IRQ pass runs every 2 s):
# cpu_set LIST NAME fills the indexed array NAME (index = CPU, so it reads back sorted);
# cpu_list NAME writes it as a list in REPLY.
cpu_set() {
  local -n _cpus=$2
  local part i IFS=,
  _cpus=()
  for part in $1; do
    if [[ $part == *-* ]]; then
      for ((i = ${part%-*}; i <= ${part#*-}; i++)); do _cpus[i]=1; done
    elif [[ -n $part ]]; then
      _cpus[part]=1
    fi
  done
}
cpu_list() {
  local -n _cpus=$1
  local out= start= prev= n
  for n in "${!_cpus[@]}" ''; do
    if [[ -n $n && -n $prev ]] && (( n == prev + 1 )); then prev=$n; continue; fi
    if [[ -n $start ]]; then
      out+=${out:+,}$start
      [[ $prev == "$start" ]] || out+=-$prev
    fi
    start=$n prev=$n
  done
  REPLY=$out
}
# irq_pass GUEST HOST DEVICE...: the devices' vfio IRQs to the guest's CPUs, every other IRQ off
# them (to what it had left, else to HOST); each old value kept in $STATE/irq.N first.
declare -A HANDLED=()
irq_pass() {
  local guest=$1 host=$2 line irq file raw old target device cpu overlap
  shift 2
  local -a in_guest=() current=() left=()
  local -A ours=()
  cpu_set "$guest" in_guest
  for device; do ours[$device]=1; done
  while read -r line; do
    [[ $line =~ ^([0-9]+): ]] || continue
    irq=${BASH_REMATCH[1]}
    file=$ROOT/proc/irq/$irq/smp_affinity_list
    [[ -z ${HANDLED[$irq]+set} && -e $file ]] || continue
    HANDLED[$irq]=1
    raw=
    { read -r raw < "$file" || [[ -n $raw ]]; } 2>/dev/null || { say "the kernel refused IRQ $irq ($file cannot be read)"; continue; }
    cpu_set "$raw" current
    cpu_list current
    old=$REPLY
    device=
    [[ $line =~ vfio-(msix?\[[0-9]+\]|intx)\(([0-9a-f:.]+)\) ]] && device=${BASH_REMATCH[2]}
    if [[ -n $device && -n ${ours[$device]+set} ]]; then
      target=$guest
    else
      left=()
      overlap=
      for cpu in "${!current[@]}"; do
        if [[ -n ${in_guest[cpu]:-} ]]; then overlap=1; else left[cpu]=1; fi
      done
      [[ -n $overlap ]] || continue
      if (( ${#left[@]} > 0 )); then cpu_list left; target=$REPLY; else target=$host; fi
    fi
    [[ $target != "$old" ]] || continue
    printf '%s\n' "$raw" > "$STATE/irq.$irq"
    printf '%s\n' "$target" 2>/dev/null > "$file" || say "the kernel refused IRQ $irq"
  done < "$ROOT/proc/interrupts"
}
vfio_irqs_up() {
  local device
  for device; do grep -qF "($device)" "$ROOT/proc/interrupts" && return 0; done
  return 1
}
# follow_irqs SECONDS GUEST HOST DEVICE...: once QEMU has opened the devices (up to SECONDS), then
# every 2 s while the VM runs, as the guest's drivers add MSI vectors. Runs in the background.
follow_irqs() {
  local seconds=$1 nap=
  shift
  trap 'kill $nap 2>/dev/null; exit 0' TERM
  if (( $# > 2 )) && ! poll "$seconds" vfio_irqs_up "${@:3}"; then
    say "the vfio IRQs of ${*:3} did not appear in $seconds s; they are followed as they appear"
  fi
  while true; do
    irq_pass "$@"
    sleep 2 & nap=$!
    wait $nap
  done
}
restore_irqs() {
  local saved file
  for saved in "$STATE"/irq.*; do
    file=$ROOT/proc/irq/${saved##*.}/smp_affinity_list
    # Gone with the device that held it (QEMU's vfio IRQs): nothing to put back.
    [[ -e $file ]] || continue
    cat -- "$saved" 2>/dev/null > "$file" || say "the kernel refused IRQ ${saved##*.}"
  done
}

# thread_of PREFIX SECONDS: the id of QEMU's thread whose name (debug-threads=on) starts with PREFIX.
thread_of() {
  local deadline=$((SECONDS + $2)) task comm
  while alive "$QEMU_PID"; do
    for task in /proc/"$QEMU_PID"/task/*; do
      { comm=$(< "$task/comm"); } 2>/dev/null || continue
      if [[ $comm == "$1"* ]]; then echo "${task##*/}"; return 0; fi
    done
    (( SECONDS < deadline )) || break
    sleep 0.05
  done
  say "QEMU has no thread named $1… (after $2 s)"
  return 1
}
# check_pinned TID CPUS: the thread's CPUs as /proc reads them back; a mismatch fails the launch.
check_pinned() {
  [[ -z $ROOT ]] || return 0
  local allowed
  allowed=$(grep -m1 '^Cpus_allowed_list:' "/proc/$QEMU_PID/task/$1/status") || return 1
  allowed=${allowed##*[[:space:]]}
  [[ $allowed == "$2" ]] || { say "thread $1 runs on CPUs $allowed, not $2 as planned"; return 1; }
}

start_qemu() {
  if [[ -n $ROOT && ${#WRAP[@]} -gt 0 ]]; then
    say "logged, not run: ${WRAP[*]} ($ROOT is not the live host); QEMU runs without them"
    WRAP=()
  fi
  "${WRAP[@]}" "${QEMU[@]}" &
  QEMU_PID=$!
  say "QEMU started (pid $QEMU_PID): ${QEMU[0]}"
}
# Until QEMU exits; a trapped signal wakes wait early, with QEMU still running.
wait_qemu() {
  local status
  while true; do
    wait "$1" && status=0 || status=$?
    (( status > 128 )) && alive "$1" || break
  done
  QEMU_STATUS=$status
}

on_signal() {
  SIGNALS=$((SIGNALS + 1))
  # Before QEMU runs: stop here; the EXIT trap undoes what was done.
  [[ -n $QEMU_PID ]] || exit $((128 + $2))
  if (( SIGNALS == 1 )); then
    say "$1: asking QEMU to quit (SIGTERM: QEMU exits at once, the guest is not shut down; the power button needs QMP, which this script does not speak)"
    kill -TERM "$QEMU_PID" 2>/dev/null
  else
    say "$1 again: killing QEMU"
    kill -KILL "$QEMU_PID" 2>/dev/null
  fi
}
teardown() {
  local status=$? failures=0 i
  set +e
  trap '' INT TERM
  if [[ -n $FOLLOWER ]]; then kill "$FOLLOWER" 2>/dev/null; wait "$FOLLOWER" 2>/dev/null; fi
  # A step failed after QEMU started: QEMU goes first.
  if [[ -n $QEMU_PID && -z $QEMU_STATUS ]] && alive "$QEMU_PID"; then
    kill -TERM "$QEMU_PID" 2>/dev/null
    poll 30 eval "! alive $QEMU_PID" || kill -KILL "$QEMU_PID" 2>/dev/null
    wait "$QEMU_PID" 2>/dev/null
  fi
  (( ${#UNDO[@]} == 0 )) || say "putting the host back"
  for ((i = ${#UNDO[@]} - 1; i >= 0; i--)); do
    eval "${UNDO[i]}" || { failures=$((failures + 1)); say "could not undo: ${UNDO[i]}"; }
  done
  rm -rf -- "$STATE"
  if (( failures > 0 )); then
    say "$failures change(s) could not be undone: put them back by hand"
    (( status != 0 )) || status=1
  fi
  exit "$status"
}
trap teardown EXIT
trap 'on_signal SIGINT 2' INT
trap 'on_signal SIGTERM 15' TERM
