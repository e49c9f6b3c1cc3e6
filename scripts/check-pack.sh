#!/usr/bin/env bash
# Install check: `npm pack` (prepack = clean build), then `npm install <tarball>` in a fresh folder, and
#   - the installed node_modules is at most 5 MB and holds no native binaries (*.node);
#   - the tarball holds only package.json, README.md, LICENSE and dist/ (.js/.d.ts, no source maps);
#   - `moegrad`, `moegrad/engine` and `moegrad/moe` import, and the gpu.js backend fails with the
#     OptionalDependencyError that names the package to install;
#   - the README's ```ts blocks run against the installed package (scripts/readme-snippets.ts);
#   - every command that the installed `moegrad --help` lists runs there (`npx moegrad …`, cheap
#     arguments), exits 0 and does not print "not available here" (the message of a command whose
#     code is not in the package); a listed command without a case below fails the check too.
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

# Every command listed by the installed `moegrad --help`, run from the installed package.
listed=$(npx --no-install moegrad --help | sed -n '/^commands:/,/^options:/p' | grep -E '^  [a-z]' | awk '{print $1}')
[ -n "$listed" ] || { echo "check-pack: 'moegrad --help' lists no commands"; exit 1; }
run_cli() { # label, then the moegrad arguments
  local label=$1; shift
  local t0=$SECONDS rc=0
  npx --no-install moegrad "$@" >"$tmp/cli.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] || grep -qi 'not available here' "$tmp/cli.log"; then
    echo "check-pack: 'moegrad $*' from the installed package failed (exit $rc):"; tail -n 30 "$tmp/cli.log"; exit 1
  fi
  echo "check-pack: moegrad $* ok ($((SECONDS - t0)) s): $(grep -v '^\s*$' "$tmp/cli.log" | tail -n 1 | cut -c1-110)"
}
run_cli version --version
run_cli usage --help
for cmd in $listed; do
  case "$cmd" in
    help) run_cli help help; run_cli help help reproduce ;;
    list) run_cli list list ;;
    demo) run_cli demo demo; test -s out/demo-thm1/thm1.json ;;  # all three parts (~1 min on 2 cores)
    certify) run_cli certify certify --cases 1 --out "$tmp/cert.json"; test -s "$tmp/cert.json" ;;
    bench) run_cli bench bench --quick
      grep -q 'GFLOP/s' "$tmp/cli.log" && grep -q 'tokens/s' "$tmp/cli.log" || { echo "check-pack: bench printed no GFLOP/s or tokens/s"; exit 1; } ;;
    reproduce) run_cli reproduce reproduce temperature-gating --quick --reps 2 --n-max 400 --workers 0 --out "$tmp/repro"
      test -s "$tmp/repro/temperature-gating.json" && test -s "$tmp/repro/temperature-gating.csv" ;;
    merge) [ -d "$tmp/repro" ] || run_cli reproduce reproduce temperature-gating --quick --reps 2 --n-max 400 --workers 0 --out "$tmp/repro"
      run_cli merge merge "$tmp/repro" --out "$tmp/merged" ;;
    *) echo "check-pack: 'moegrad --help' lists '$cmd', which this script does not run; add a case for it"; exit 1 ;;
  esac
done
echo "check-pack: every listed command ($(echo $listed | tr '\n' ' ')) ran from the installed package"
echo "check-pack: ok"
