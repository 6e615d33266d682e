#!/usr/bin/env bash
# Installs VEEN on a Linux host (OS-GOALS §4, §6): the compiled binary (or the launcher) as PREFIX/bin/veen with
# veen-hub, veen-bridge, veen-selftest and veen-cli symlinks, /etc/veen (0755) with a default hub.toml (0640), /var/lib/veen
# (0700) and /var/log/veen (0750) owned by the system user veen, and optionally the systemd unit.
# Safe to run again: it converges to the same result. See docs/operations.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--binary FILE | --launcher] [--prefix DIR] [--destdir DIR] [--systemd]
                          [--user NAME] [--no-user] [--sysconfdir DIR] [--statedir DIR] [--logdir DIR]
                          [--skip-deps] [--dry-run] [--help]

  --binary FILE    install this compiled binary (default: dist/veen-<arch>-linux when present)
  --launcher       install the source tree under PREFIX/lib/veen and a `veen` wrapper running the launcher
                   (the default when no compiled binary is found; needs Node.js/npm once, or a Deno 2 on PATH)
  --prefix DIR     installation prefix (default /usr/local, env PREFIX): binaries in DIR/bin
  --destdir DIR    stage everything under DIR (env DESTDIR); no user is created and nothing is chowned
  --systemd        install veen-hub.service and the veen-anchor@ service and timer into /etc/systemd/system
                   and reload systemd
  --user NAME      service user (default veen); --no-user skips creating it
  --sysconfdir DIR configuration directory (default /etc/veen)
  --statedir DIR   hub data directory (default /var/lib/veen)
  --logdir DIR     log directory (default /var/log/veen)
  --skip-deps      launcher: do not install Deno and the npm packages now
  --dry-run        print what would be done, change nothing (no root needed)
EOF
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

PREFIX="${PREFIX:-/usr/local}"
DESTDIR="${DESTDIR:-}"
SYSCONFDIR=/etc/veen
STATEDIR=/var/lib/veen
LOGDIR=/var/log/veen
UNITDIR=/etc/systemd/system
SVC_USER=veen
MODE=auto
BINARY=""
SYSTEMD=0
DRY_RUN=0
CREATE_USER=1
SKIP_DEPS=0

die() { echo "install.sh: $*" >&2; exit 1; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) need_arg "$@"; BINARY="$2"; MODE=binary; shift 2 ;;
    --launcher) MODE=launcher; shift ;;
    --prefix) need_arg "$@"; PREFIX="$2"; shift 2 ;;
    --destdir) need_arg "$@"; DESTDIR="$2"; shift 2 ;;
    --systemd) SYSTEMD=1; shift ;;
    --user) need_arg "$@"; SVC_USER="$2"; shift 2 ;;
    --no-user) CREATE_USER=0; shift ;;
    --sysconfdir) need_arg "$@"; SYSCONFDIR="$2"; shift 2 ;;
    --statedir) need_arg "$@"; STATEDIR="$2"; shift 2 ;;
    --logdir) need_arg "$@"; LOGDIR="$2"; shift 2 ;;
    --skip-deps) SKIP_DEPS=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

for d in "$PREFIX" "$SYSCONFDIR" "$STATEDIR" "$LOGDIR"; do
  case "$d" in /*) ;; *) die "paths must be absolute: $d" ;; esac
done
[[ "$SVC_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "invalid user name: $SVC_USER"
DESTDIR="${DESTDIR%/}"

BINDIR="$PREFIX/bin"
LIBDIR="$PREFIX/lib/veen"
DOCDIR="$PREFIX/share/doc/veen"

note() { echo "install.sh: $*"; }

# run CMD...: execute, or print under --dry-run
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

# write_file MODE PATH < content: atomic write (temporary file in the same directory, then rename)
write_file() {
  local mode="$1" path="$2"
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ write %q (mode %s)\n' "$path" "$mode"
    cat >/dev/null
    return
  fi
  local tmp
  tmp="$(mktemp "$path.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
}

# install_dir MODE DIR [owned]: create DIR with MODE (and the service user as owner); fixes an existing one
install_dir() {
  local mode="$1" dir="$2" owned="${3:-}"
  run install -d -m "$mode" "$DESTDIR$dir"
  run chmod "$mode" "$DESTDIR$dir"
  if [ -n "$owned" ] && [ "$CHOWN" = 1 ]; then
    run chown "$SVC_USER:$SVC_USER" "$DESTDIR$dir"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# What to install

arch="$(uname -m)"
case "$arch" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
esac
if [ "$MODE" = auto ]; then
  if [ -f "$repo/dist/veen-$arch-linux" ]; then
    MODE=binary
    BINARY="$repo/dist/veen-$arch-linux"
  else
    MODE=launcher
    note "no compiled binary at dist/veen-$arch-linux (build it with \`deno task compile\`); installing the launcher"
  fi
fi
if [ "$MODE" = binary ]; then
  [ -f "$BINARY" ] || die "--binary $BINARY: no such file"
else
  [ -f "$repo/veen" ] && [ -f "$repo/mod.ts" ] || die "--launcher needs the VEEN source tree around this script"
fi

if [ "$DRY_RUN" = 0 ] && [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
  die "run as root (or stage with --destdir DIR, or look first with --dry-run)"
fi

# ---------------------------------------------------------------------------------------------------------------
# Service user

# CHOWN=1: files get the service user as owner (a live install where the user exists or is being created).
CHOWN=0
if [ -n "$DESTDIR" ]; then
  note "staging under $DESTDIR: not creating user $SVC_USER or changing ownership (do it when deploying)"
elif getent passwd "$SVC_USER" >/dev/null 2>&1; then
  note "user $SVC_USER exists"
  CHOWN=1
elif [ "$CREATE_USER" = 0 ]; then
  note "user $SVC_USER does not exist and --no-user was given: directories stay owned by root"
else
  CHOWN=1
  nologin="$(command -v nologin || echo /usr/sbin/nologin)"
  if command -v useradd >/dev/null 2>&1; then
    run useradd --system --user-group --home-dir "$STATEDIR" --no-create-home --shell "$nologin" \
      --comment "VEEN hub" "$SVC_USER"
  elif command -v adduser >/dev/null 2>&1; then
    run adduser --system --group --home "$STATEDIR" --no-create-home --shell "$nologin" "$SVC_USER"
  else
    die "neither useradd nor adduser is available to create user $SVC_USER"
  fi
fi

# ---------------------------------------------------------------------------------------------------------------
# Directories (OS-GOALS §4.1, §6.1: data 0700 owned by the service user)

install_dir 0755 "$BINDIR"
install_dir 0755 "$SYSCONFDIR"
install_dir 0700 "$STATEDIR" owned
install_dir 0750 "$LOGDIR" owned

# ---------------------------------------------------------------------------------------------------------------
# The program

if [ "$MODE" = binary ]; then
  run install -m 0755 "$BINARY" "$DESTDIR$BINDIR/.veen.new"
  run mv -f "$DESTDIR$BINDIR/.veen.new" "$DESTDIR$BINDIR/veen"
  installed="binary $(basename "$BINARY")"
else
  run install -d -m 0755 "$DESTDIR$PREFIX/lib"
  run rm -rf "$DESTDIR$LIBDIR.new"
  run install -d -m 0755 "$DESTDIR$LIBDIR.new"
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ copy the source tree %q to %q (without .git, node_modules, dist)\n' "$repo" "$DESTDIR$LIBDIR"
  else
    (cd "$repo" && tar -cf - --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./.veen-demo \
      --exclude='*.tmp' .) | tar -xf - -C "$DESTDIR$LIBDIR.new"
  fi
  run rm -rf "$DESTDIR$LIBDIR"
  run mv "$DESTDIR$LIBDIR.new" "$DESTDIR$LIBDIR"
  deno_line=""
  if [ "$SKIP_DEPS" = 0 ]; then
    if [ "$DRY_RUN" = 1 ]; then
      printf '+ VEEN_TOOLS_DIR=%q %q\n' "$DESTDIR$PREFIX/lib/veen-deno" "$DESTDIR$LIBDIR/scripts/ensure-deno.sh"
      printf '+ (cd %q && deno install)\n' "$DESTDIR$LIBDIR"
      deno_line=": \"\${VEEN_DENO:=$PREFIX/lib/veen-deno/deno-<version>/node_modules/deno/deno}\"; export VEEN_DENO"
    else
      deno="$(VEEN_TOOLS_DIR="$DESTDIR$PREFIX/lib/veen-deno" "$DESTDIR$LIBDIR/scripts/ensure-deno.sh")"
      (cd "$DESTDIR$LIBDIR" && "$deno" install --quiet)
      # The path the wrapper uses at run time (without the staging prefix).
      deno_line=": \"\${VEEN_DENO:=${deno#"$DESTDIR"}}\"; export VEEN_DENO"
    fi
  fi
  write_file 0755 "$DESTDIR$BINDIR/veen" <<EOF
#!/bin/sh
# VEEN launcher wrapper written by scripts/install.sh: runs $LIBDIR/veen with the Deno installed for it.
# Invoked as veen-hub, veen-bridge or veen-selftest it runs that role; veen-cli is the client CLI itself.
$deno_line
case "\$(basename "\$0")" in
  veen-hub) set -- hub "\$@" ;;
  veen-bridge) set -- bridge "\$@" ;;
  veen-selftest) set -- selftest "\$@" ;;
  veen-cli) ;;
esac
exec "$LIBDIR/veen" "\$@"
EOF
  installed="launcher in $LIBDIR"
fi
for role in veen-hub veen-bridge veen-selftest veen-cli; do
  run ln -sfn veen "$DESTDIR$BINDIR/$role"
done

# ---------------------------------------------------------------------------------------------------------------
# Configuration (never overwritten) and documentation

if [ -e "$DESTDIR$SYSCONFDIR/hub.toml" ]; then
  note "keeping existing $SYSCONFDIR/hub.toml"
else
  write_file 0640 "$DESTDIR$SYSCONFDIR/hub.toml" <<'EOF'
# VEEN hub configuration (every key, its VEEN_* variable and default: docs/hub-config.md).
# Command-line flags and VEEN_* variables (for systemd: /etc/veen/hub.env) take precedence over this file.
[hub]
listen = "127.0.0.1:37411"
# listen = "0.0.0.0:37411"      # serve remote clients; admission (cap tokens) is then required by default
# admission = "auto"            # auto | on | off
# log_level = "info"            # debug | info | warn | error
# trusted_issuers = []          # hex Ed25519 keys whose cap tokens /authorize accepts
EOF
fi
if [ "$CHOWN" = 1 ]; then
  run chgrp "$SVC_USER" "$DESTDIR$SYSCONFDIR/hub.toml"
fi
if [ -f "$repo/docs/operations.md" ]; then
  run install -d -m 0755 "$DESTDIR$DOCDIR"
  run install -m 0644 "$repo/docs/operations.md" "$DESTDIR$DOCDIR/operations.md"
fi

# ---------------------------------------------------------------------------------------------------------------
# systemd

if [ "$SYSTEMD" = 1 ]; then
  run install -d -m 0755 "$DESTDIR$UNITDIR"
  # Scheduled anchoring (ANCHOR0.2): a template pair, enabled per stream; its ledger dir sits beside the data dir
  # (/var/lib/veen-anchor becomes $STATEDIR-anchor through the same substitution).
  install_dir 0700 "$STATEDIR-anchor" owned
  for unit in veen-hub.service veen-anchor@.service veen-anchor@.timer; do
    sed -e "s#/usr/local/bin/veen#$BINDIR/veen#g" \
        -e "s#/usr/local/share/doc/veen#$DOCDIR#g" \
        -e "s#/var/lib/veen#$STATEDIR#g" \
        -e "s#/etc/veen#$SYSCONFDIR#g" \
        -e "s#^User=veen\$#User=$SVC_USER#" \
        -e "s#^Group=veen\$#Group=$SVC_USER#" \
        -e "$( [ "$STATEDIR" = /var/lib/veen ] || echo '/^StateDirectory/d' )" \
        "$repo/compile/$unit" | write_file 0644 "$DESTDIR$UNITDIR/$unit"
  done
  if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    run systemctl daemon-reload
    note "start it with: systemctl enable --now veen-hub"
    note "anchor a stream every 10 min: set VEEN_ANCHOR_HUB_KEY in $SYSCONFDIR/anchor.env, then" \
      "systemctl enable --now \"veen-anchor@\$(systemd-escape STREAM).timer\""
  else
    note "systemd is not running here (WSL2 without systemd?): start the hub as in docs/operations.md"
  fi
fi

# ---------------------------------------------------------------------------------------------------------------

if [ "$DRY_RUN" = 0 ] && [ -z "$DESTDIR" ]; then
  "$BINDIR/veen" --help >/dev/null || die "$BINDIR/veen --help failed"
fi
if [ "$DRY_RUN" = 1 ]; then
  note "dry run: nothing was changed"
else
  note "installed $installed as ${DESTDIR}$BINDIR/veen (+ veen-hub, veen-bridge, veen-selftest, veen-cli)"
fi
