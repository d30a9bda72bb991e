#!/usr/bin/env bash
# What the desktop app costs when nothing runs: CPU ticks of the `surfing` process over 30 s
# (after 10 s to settle) from /proc/PID/stat, with the Dashboard page shown (PAGE=2: Playground).
# Run under a display, e.g.: xvfb-run -a -s "-screen 0 1280x800x24" bench/run-gui-idle.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
cfg=$(mktemp -d)
trap 'rm -rf "$cfg"' EXIT
mkdir -p "$cfg/config/Surfing"
printf '[window]\npage=%s\n' "${PAGE:-3}" >"$cfg/config/Surfing/surfing.conf"
XDG_CONFIG_HOME="$cfg/config" XDG_DATA_HOME="$cfg/data" "$build/app/surfing" &
pid=$!
sleep 10
ticks() { read -r -a f < <(sed 's/^.*) //' "/proc/$pid/stat"); echo $((f[11] + f[12])); }
t0=$(ticks)
sleep 30
t1=$(ticks)
hz=$(getconf CLK_TCK)
kill "$pid"
echo "surfing idle, page ${PAGE:-3}: $((t1 - t0)) ticks in 30 s at $hz Hz = $(echo "scale=2; 100 * ($t1 - $t0) / ($hz * 30)" | bc) % of a core"
