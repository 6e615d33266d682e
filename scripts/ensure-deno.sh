#!/usr/bin/env bash
# Prints the path of a Deno 2.x binary, installing the pinned version from the npm registry once if none is on PATH.
# Sourced by ./veen and scripts/test; a fresh machine needs only Node and npm.
set -euo pipefail
VEEN_DENO_VERSION="${VEEN_DENO_VERSION:-2.9.6}"
if [ -n "${VEEN_DENO:-}" ] && [ -x "${VEEN_DENO}" ]; then echo "${VEEN_DENO}"; exit 0; fi
if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | head -1 | grep -q '^deno 2\.'; then
  command -v deno; exit 0
fi
cache="${VEEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/veen}/deno-${VEEN_DENO_VERSION}"
bin="$cache/node_modules/deno/deno"
if [ ! -x "$bin" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "veen: Deno is not installed and npm is not available to install it" >&2; exit 2
  fi
  mkdir -p "$cache"
  echo "veen: installing Deno ${VEEN_DENO_VERSION} from the npm registry into $cache (once)" >&2
  (cd "$cache" && npm install --no-audit --no-fund --loglevel=error "deno@${VEEN_DENO_VERSION}" >&2)
  [ -x "$bin" ] || { echo "veen: Deno install failed: $bin missing" >&2; exit 2; }
fi
echo "$bin"
