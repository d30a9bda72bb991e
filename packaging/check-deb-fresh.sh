#!/usr/bin/env bash
# Installs a Surfing .deb into a freshly bootstrapped Debian 12 (bookworm) and runs what it
# installed: proof that the package's Depends, paths, rpath, desktop entry and icon are complete
# on a machine that never saw the build. Not run by CI (needs root, network and ~1 GB).
#
#   sudo packaging/check-deb-fresh.sh build/surfing_0.1.0_amd64.deb [ROOT_DIR]
#
# Needs debootstrap (apt-get install debootstrap). With a model that has a tokenizer (DEMO_MODEL,
# default ../shared/models/stories260K beside the checkout) it also serves it and runs a prompt
# over loopback. The Debian mirror is taken from this machine's
# apt sources (override with MIRROR=URL). ROOT_DIR (default: a new folder under /var/tmp) is
# deleted at the end unless KEEP_ROOT=1. Exit 0 when every check passed.
set -euo pipefail

deb=${1:?usage: check-deb-fresh.sh SURFING.deb [ROOT_DIR]}
deb=$(realpath "$deb")
root=${2:-$(mktemp -d /var/tmp/surfing-deb-root.XXXXXX)}
[ "$(id -u)" -eq 0 ] || { echo "check-deb-fresh: run as root (debootstrap and chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "check-deb-fresh: apt-get install debootstrap first" >&2; exit 2; }

# The first plain Debian archive among this machine's apt sources (one-line and deb822 formats).
find_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -oE '(https?|file)://[^ ]+/debian/?( |$)' "$f"
  done | grep -v -- '-security' | sed -n 1p | tr -d ' ' || true
}
mirror=${MIRROR:-$(find_mirror)}
[ -n "$mirror" ] || { echo "check-deb-fresh: no Debian mirror in the apt sources; set MIRROR=URL" >&2; exit 2; }

cleanup() {
  umount "$root/dev/pts" "$root/proc" 2>/dev/null || true
  if [ "${KEEP_ROOT:-0}" != 1 ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
  step "debootstrap bookworm into $root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
fi
mount -t proc proc "$root/proc"
mount -t devpts devpts "$root/dev/pts"
cp "$deb" "$root/tmp/"
name=$(basename "$deb")
# A model with a tokenizer for a text prompt: DEMO_MODEL, else the shared stories260K if present.
demo=${DEMO_MODEL:-$(dirname "$(realpath "$0")")/../../shared/models/stories260K}
rm -rf "$root/tmp/demo"
if [ -f "$demo/config.json" ]; then cp -r "$demo" "$root/tmp/demo"; fi

step "apt install ./$name"
chroot "$root" env DEBIAN_FRONTEND=noninteractive bash -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ./tmp/$name >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }; tail -3 /tmp/apt.log"
# Only for checking the desktop entry below; not something surfing needs.
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq desktop-file-utils >/dev/null

# Everything below runs inside the fresh system as an ordinary user would.
chroot "$root" env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR=/tmp/runtime bash -euo pipefail -c '
step() { printf "\n== %s\n" "$*"; }
step "shared libraries resolve"
for exe in /usr/bin/surfing /usr/bin/surfing-cli; do
  if ldd "$exe" | grep "not found"; then echo "FAIL: $exe has unresolved libraries"; exit 1; fi
done
echo ok
step "surfing-cli --help"
surfing-cli --help | sed -n 1,20p
step "surfing-cli: make-model, chunk --compress, verify, inspect"
surfing-cli make-model --layers 2 -o /tmp/model
surfing-cli chunk /tmp/model -o /tmp/chunks --compress
surfing-cli verify /tmp/chunks
surfing-cli inspect /tmp/chunks | sed -n 1,5p
step "surfing-cli run (hands over to /usr/lib/surfing/surfing-cli-torch)"
surfing-cli run --local /tmp/chunks --ids 1,2,3 --max-tokens 4
if [ -d /tmp/demo ]; then
  step "surfing-cli serve + run over loopback with a real model"
  surfing-cli chunk /tmp/demo -o /tmp/demo-chunks
  surfing-cli serve /tmp/demo-chunks --port 18765 >/tmp/serve.log 2>&1 &
  server=$!
  for _ in $(seq 50); do grep -q listening /tmp/serve.log && break; sleep 0.2; done
  surfing-cli run --server ws://127.0.0.1:18765 --prompt "Once upon a time" --max-tokens 24
  kill $server; wait $server || true
fi
step "surfing --version / --help (offscreen)"
QT_QPA_PLATFORM=offscreen surfing --version
QT_QPA_PLATFORM=offscreen surfing --help | sed -n 1,6p
step "surfing /tmp/model starts its window (offscreen) and keeps running"
mkdir -m 700 -p /tmp/runtime
rc=0; QT_QPA_PLATFORM=offscreen timeout 10 surfing /tmp/model || rc=$?
if [ "$rc" -ne 124 ]; then echo "FAIL: surfing exited with $rc instead of running"; exit 1; fi
echo "still running after 10 s: ok"
step "desktop entry and icon"
desktop=/usr/share/applications/io.github.surfing.Surfing.desktop
grep -qx "Exec=surfing %f" "$desktop" && grep -qx "Icon=surfing" "$desktop"
test -s /usr/share/icons/hicolor/256x256/apps/surfing.png
test -s /usr/share/icons/hicolor/scalable/apps/surfing.svg
test -s /usr/share/metainfo/io.github.surfing.Surfing.metainfo.xml
test -s /usr/share/doc/surfing/copyright
desktop-file-validate "$desktop"
echo ok
step "documentation, examples and systemd units"
# Help > Documentation opens the README; docs/deploy.md names the example and the units.
test -s /usr/share/doc/surfing/README.md
test -s /usr/share/doc/surfing/docs/deploy.md
test -s /usr/share/doc/surfing/docs/screenshots/playground.png
test -s /usr/share/doc/surfing/examples/haproxy/surfing.cfg
test -s /lib/systemd/system/surfing-serve@.service
test -s /lib/systemd/system/surfing-server.service
grep -q "^ExecStart=.*/usr/bin/surfing-cli serve" /lib/systemd/system/surfing-serve@.service
echo ok
'
step "PASS: $name installs and runs on a fresh Debian 12"
