#!/usr/bin/env bash
# Points extension.toml's grammar at the night checkout this script sits in and
# at its current commit, for installing the extension with "zed: install dev
# extension". Re-run it after committing a change to the grammar.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(git -C "$here" rev-parse --show-toplevel)"
rev="$(git -C "$repo" rev-parse HEAD)"
sed -i.bak \
  -e "s|^repository = \"file://.*\"|repository = \"file://$repo\"|" \
  -e "s|^rev = \".*\"|rev = \"$rev\"|" \
  "$here/extension.toml"
rm -f "$here/extension.toml.bak"
echo "extension.toml: grammar from file://$repo at $rev"
