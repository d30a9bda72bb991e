#!/usr/bin/env bash
# The main demo: chunk a small model, start a local weight server, stream a prompt through it and
# show the text and the stats. Uses stories260K from ../shared/models when present, else a model
# generated with `surfing-cli make-model` (random weights, so its "text" is token ids).
# On a fresh machine it first installs what is missing and builds (both skip what is done).
#   scripts/demo.sh ["PROMPT"]        (SURFING_CLI=path/to/surfing-cli to use a build as it is)
#   scripts/demo.sh --gui             the desktop app with the demo model chunked and served,
#                                     the Playground open (needs a display; chunks are kept in
#                                     ~/.local/share/surfing/demo-chunks)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
gui=""
if [ "${1:-}" = "--gui" ]; then
  gui=1
  shift
  if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    echo "demo --gui: no display (DISPLAY and WAYLAND_DISPLAY are not set); run scripts/demo.sh without --gui over SSH" >&2
    exit 1
  fi
fi
if [ -z "${SURFING_CLI:-}" ]; then
  "$here/scripts/install-deps.sh"
  "$here/scripts/build.sh"
fi
cli=${SURFING_CLI:-${SURFING_BUILD_DIR:-$here/build}/app/surfing-cli}
[ -x "$cli" ] || { echo "demo: $cli not found; build with scripts/build.sh or set SURFING_CLI" >&2; exit 1; }
prompt=${1:-"Once upon a time, there was a little girl named Lily."}

if [ -n "$gui" ]; then
  app=${SURFING_GUI:-$(dirname "$cli")/surfing}
  [ -x "$app" ] || { echo "demo --gui: $app not found; build with the GUI (scripts/build.sh)" >&2; exit 1; }
  model="$here/../shared/models/stories260K"
  chunks="${XDG_DATA_HOME:-$HOME/.local/share}/surfing/demo-chunks"
  if [ ! -f "$model/config.json" ]; then
    echo "== stories260K not found; generating a small random LLaMA-shaped model (no tokenizer: token ids only)"
    model="${XDG_DATA_HOME:-$HOME/.local/share}/surfing/demo-model"
    [ -f "$model/config.json" ] || "$cli" make-model --layers 4 --hidden 128 --intermediate 344 --heads 8 --kv-heads 4 --vocab 512 -o "$model"
  fi
  mkdir -p "$(dirname "$chunks")"
  echo "== chunking $model into $chunks"
  "$cli" chunk "$model" -o "$chunks" --compress --force
  echo "== opening the app: it serves $chunks and shows the Playground"
  exec "$app" --serve "$chunks"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/surfing-demo.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

model="$here/../shared/models/stories260K"
input=(--prompt "$prompt")
if [ ! -f "$model/config.json" ]; then
  echo "== stories260K not found; generating a small random LLaMA-shaped model"
  model="$work/demo-model"
  "$cli" make-model --layers 4 --hidden 128 --intermediate 344 --heads 8 --kv-heads 4 --vocab 512 -o "$model"
  input=(--ids 1,42,7,99)
fi

echo "== chunking $model"
"$cli" chunk "$model" -o "$work/chunks" --compress

echo "== starting the weight server on a free loopback port"
"$cli" serve "$work/chunks" --host 127.0.0.1 --port 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
  url=$(head -n1 "$work/server.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "demo: the server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
echo "   $url"

echo "== surfing-cli run --server $url (cache: 3 chunks, prefetch auto: up to 2, or none if faster)"
"$cli" run --server "$url" "${input[@]}" --max-tokens 48 --cache-layers 3
