#!/usr/bin/env bash
# The explain page (rg::explain_html) in a real headless browser, Debian's
# chromium: the page of tutorial 12 must load without errors, its DOM must hold
# the SVG graph with every op and leaf linked to an existing step, and a
# screenshot is written for a human to look at.
#
# Usage: bash tests/browser/check_explain_page.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR  a build with the tutorials (default: build)
#   OUT_DIR    where the page, the DOM, the log and explain.png go (default: a new temporary directory)
# Needs chromium and graphviz (sudo apt-get install chromium graphviz); exits 77
# (skipped, for ctest) when either is missing.
set -euo pipefail
build=$(realpath "${1:-build}")
out=${2:-$(mktemp -d)}
mkdir -p "$out"
out=$(realpath "$out")
tutorial="$build/docs/tutorial_12_explain_backpropagation"
fail() { echo "check_explain_page: $*" >&2; exit 1; }
[[ -x $tutorial ]] || fail "$tutorial not found: build first (cmake --build $build)"
for program in chromium dot; do
  if ! command -v "$program" > /dev/null; then
    echo "check_explain_page: skipped, $program is missing (sudo apt-get install chromium graphviz)"
    exit 77
  fi
done

(cd "$out" && "$tutorial" > tutorial.out)
page="$out/two-layer-backward.html"
[[ -s $page ]] || fail "the tutorial wrote no page at $page"

# A fresh profile per run; no network needed or allowed (the page must be self-contained).
browse() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$out/profile" \
    --enable-logging=stderr --v=0 --proxy-server=127.0.0.1:9 "$@" "file://$page"
}
browse --dump-dom > "$out/dom.html" 2> "$out/chromium.log" || fail "chromium could not load the page (see $out/chromium.log)"
browse --screenshot="$out/explain.png" --window-size=1200,1600 2>> "$out/chromium.log" > /dev/null ||
  fail "chromium could not take a screenshot (see $out/chromium.log)"

# Loaded without errors: no console error, no failed resource.
if grep -E "CONSOLE|Uncaught|Failed to load resource|net::ERR_" "$out/chromium.log"; then
  fail "the page logged errors (above; full log in $out/chromium.log)"
fi
if grep -Eo '(src|href)="(https?:)?//[^"]*"' "$out/dom.html"; then
  fail "the page refers to external resources (above); it must be self-contained"
fi
grep -q "<svg" "$out/dom.html" || fail "no <svg> in the DOM ($out/dom.html)"
nodes=$(grep -c 'class="node"' "$out/dom.html" || true)
(( nodes >= 20 )) || fail "the SVG has $nodes nodes, expected at least 20 (tutorial 12's graph)"
steps=$(grep -c '<section class="step" id="step-' "$out/dom.html" || true)
(( steps == 14 )) || fail "the page has $steps steps, expected 14"
# Every link to a step, or from a step back to its node in the graph, points at
# an element that exists; the graph's nodes link to their steps.
links=$(grep -o 'href="#\(step\|tape\)-[0-9]*"' "$out/dom.html" | sort -u | sed 's/.*#//; s/"//')
duplicates=$(grep -o ' id="[^"]*"' "$out/dom.html" | sort | uniq -d)
[[ -z $duplicates ]] || fail "ids used twice in the page: $duplicates"
graph_links=$(grep -c 'xlink:href="#step-' "$out/dom.html" || true)
(( graph_links >= 14 )) || fail "$graph_links graph nodes link to a step, expected 14 (10 ops and 4 leaves)"
for id in $links; do
  grep -q "id=\"$id\"" "$out/dom.html" || fail "a link points at #$id, which does not exist"
done
[[ $(stat -c %s "$out/explain.png") -gt 20000 ]] || fail "the screenshot $out/explain.png is (nearly) empty"
echo "check_explain_page: ok: $nodes SVG nodes, $steps steps, every link resolves; screenshot $out/explain.png"
