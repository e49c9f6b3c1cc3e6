#!/usr/bin/env bash
# Install check: `npm pack` (prepack = clean build), then `npm install <tarball>` in a fresh folder, and
#   - the installed node_modules is at most 5 MB and holds no native binaries (*.node);
#   - the tarball holds only package.json, README.md, LICENSE and dist/ (.js/.d.ts, no source maps);
#   - `moegrad`, `moegrad/engine` and `moegrad/moe` import, and the gpu.js backend fails with the
#     OptionalDependencyError that names the package to install;
#   - the README's ```ts blocks run against the installed package (scripts/readme-snippets.ts).
# Usage: bash scripts/check-pack.sh   (needs the npm registry for moegrad's own small dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm pack --pack-destination "$tmp" >"$tmp/pack.log" 2>&1 || { cat "$tmp/pack.log"; exit 1; }
tarball=$(ls "$tmp"/moegrad-*.tgz)
stray=$(tar tzf "$tarball" | grep -Ev '^package/(package\.json|README\.md|LICENSE|dist/.*\.(js|d\.ts))$' || true)
if [ -n "$stray" ]; then echo "check-pack: unexpected files in the tarball:"; echo "$stray"; exit 1; fi

mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
npm install --no-audit --no-fund "$tarball" >/dev/null
size_kb=$(du -sk node_modules | cut -f1)
echo "check-pack: $(tar tzf "$tarball" | wc -l) files in $(basename "$tarball") ($(du -h "$tarball" | cut -f1)); npm install: $(ls node_modules | wc -l) packages, node_modules ${size_kb} KB"
if [ "$size_kb" -gt 5120 ]; then echo "check-pack: node_modules is ${size_kb} KB > 5 MB"; du -sk node_modules/* | sort -n | tail; exit 1; fi
native=$(find node_modules -name '*.node' -o -name '*.so' -o -name '*.dll' -o -name '*.dylib')
if [ -n "$native" ]; then echo "check-pack: native binaries installed:"; echo "$native"; exit 1; fi

cat > check.mjs <<'EOF'
const root = await import('moegrad');
const engine = await import('moegrad/engine');
const moe = await import('moegrad/moe');
for (const [name, mod, expected] of [['moegrad', root, 'MoELayer'], ['moegrad/engine', engine, 'tensor'], ['moegrad/moe', moe, 'topKSoftmaxGate']]) {
  if (mod[expected] === undefined) throw new Error(`${name} does not export ${expected}`);
}
try {
  root.useBackend('gpujs');
  throw new Error("useBackend('gpujs') worked without gpu.js installed");
} catch (e) {
  if (!(e instanceof root.OptionalDependencyError) || !e.message.includes("npm install 'gpu.js@")) throw e;
}
console.log(`check-pack: imports ok (${Object.keys(root).length} exports); without gpu.js: ${root.getBackend().describe()}`);
EOF
node check.mjs
# The README's code blocks, importing the installed package (TypeScript through the repo's tsx).
node "$repo/node_modules/tsx/dist/cli.mjs" "$repo/scripts/readme-snippets.ts" --run-in "$tmp/app" "$repo/README.md"
echo "check-pack: ok"
