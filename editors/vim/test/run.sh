#!/usr/bin/env bash
# Checks the Vim runtime files in editors/vim headless: filetype detection, the
# ftplugin, indentation and the syntax group at chosen places of
# editors/sample.night. Exit 0 when every check passes.
#
#   editors/vim/test/run.sh          # uses `vim` on PATH, or $VIM_BIN
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vim_bin="${VIM_BIN:-vim}"
if ! command -v "$vim_bin" >/dev/null 2>&1; then
  echo "editors/vim/test: \`$vim_bin\` not found" >&2
  exit 127
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# -es: silent Ex mode, no UI; -N -u NONE -i NONE: no user config, no viminfo.
NIGHT_TEST_LOG="$log" "$vim_bin" -N -u NONE -i NONE -es \
  --cmd "set rtp^=$here/.." \
  -S "$here/highlight.vim" || status=$?
cat "$log"
exit "$status"
