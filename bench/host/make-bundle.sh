#!/usr/bin/env bash
# Builds trtx's `dist/` from a commit of this repository and copies it to DEST, with DEST/COMMIT naming the
# commit, for bench/host/run.py's --bundles. The build runs in a temporary `git worktree` (the working tree
# is not touched) that borrows the repository's node_modules through a symlink, so the commit is built with
# the dependencies installed here (`npm ci` first if they are missing).
#
#   bench/host/make-bundle.sh DEST [REV]      REV: any commit-ish, HEAD by default
#
# DEST must not exist, or be an earlier bundle (it holds COMMIT); it is replaced.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 DEST [REV]" >&2
  exit 2
fi
dest=$1
rev=${2:-HEAD}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
if [ ! -d "$repo/node_modules" ]; then
  echo "$repo/node_modules is missing: run npm ci in $repo first" >&2
  exit 1
fi
if [ -e "$dest" ] && [ ! -f "$dest/COMMIT" ]; then
  echo "$dest exists and is not a bundle made by this script (no COMMIT): not replacing it" >&2
  exit 1
fi
commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}")
# The pinned Node (the `node` devDependency) first, as `npm run build` would have it.
export PATH=$repo/node_modules/.bin:$PATH

wt=$(mktemp -d "${TMPDIR:-/tmp}/trtx-bundle.XXXXXX")
cleanup() {
  git -C "$repo" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
  git -C "$repo" worktree prune
}
trap cleanup EXIT
git -C "$repo" worktree add --detach "$wt" "$commit" >/dev/null
ln -s "$repo/node_modules" "$wt/node_modules"
(cd "$wt" && node scripts/build.ts)

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -r "$wt/dist" "$dest"
echo "$commit" > "$dest/COMMIT"
echo "$dest: $(node "$dest/cli/trtx.js" --version), commit $commit, $(du -sh "$dest" | cut -f1)"
