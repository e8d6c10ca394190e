#!/usr/bin/env bash
# The explain pages (rg::explain_html) in a real headless browser, Debian's
# chromium: tutorial 12's page (primitive ops) and tutorial 13's (composite
# steps) must load without console errors, hold the SVG graph with every node
# linked to an existing step, fit the loss node and the first step in the
# first screen at 1400×1000 and 1000×800 (element positions measured in the
# page, not pixels), and walk the backward pass with the step control.
# Screenshots are written for a human to look at.
#
# Usage: bash tests/browser/check_explain_page.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR  a build with the tutorials (default: build)
#   OUT_DIR    where the pages, DOMs, logs and screenshots go (default: a new temporary directory)
# Needs chromium and graphviz (sudo apt-get install chromium graphviz); exits 77
# (skipped, for ctest) when either is missing.
set -euo pipefail
build=$(realpath "${1:-build}")
out=${2:-$(mktemp -d)}
mkdir -p "$out"
out=$(realpath "$out")
fail() { echo "check_explain_page: $*" >&2; exit 1; }
for program in chromium dot; do
  if ! command -v "$program" > /dev/null; then
    echo "check_explain_page: skipped, $program is missing (sudo apt-get install chromium graphviz)"
    exit 77
  fi
done
for tutorial in 12_explain_backpropagation 13_explain_layers_and_losses; do
  [[ -x $build/docs/tutorial_$tutorial ]] || fail "$build/docs/tutorial_$tutorial not found: build first (cmake --build $build)"
  (cd "$out" && "$build/docs/tutorial_$tutorial" > "tutorial_$tutorial.out")
done

# A fresh, empty profile per run; no network needed or allowed (the page must work offline).
browse() {
  local page=$1 profile
  shift
  profile=$(mktemp -d "$out/profile.XXXXXX")
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --enable-logging=stderr --v=0 --proxy-server=127.0.0.1:9 --virtual-time-budget=5000 "$@" "file://$page"
  rm -rf "$profile"
}

# What a student sees first, measured in the page: the test's copy of the page
# reports the positions of the loss node and of the first steps, and what the
# step control highlights after one click on "next".
probe='<script>
window.addEventListener("load", function () {
  function box(id) {
    var e = document.getElementById(id);
    if (!e) return id + " missing";
    var r = e.getBoundingClientRect();
    return id + " " + Math.round(r.left) + " " + Math.round(r.top) + " " + Math.round(r.right) + " " + Math.round(r.bottom);
  }
  var lines = ["viewport 0 0 " + window.innerWidth + " " + window.innerHeight, box("tensor-0"), box("step-0")];
  document.getElementById("next").click();
  lines.push("position " + document.getElementById("position").textContent);
  lines.push("current " + document.querySelectorAll(".current").length);
  lines.push("arriving " + document.querySelectorAll(".arriving").length);
  lines.push("sending " + document.querySelectorAll(".sending").length);
  var pre = document.createElement("pre");
  pre.id = "layout";
  pre.textContent = lines.join("\n");
  document.body.appendChild(pre);
});
</script>'

check_page() {
  local page=$1 name=$2 steps=$3 second=$4
  [[ -s $page ]] || fail "the tutorial wrote no page at $page"
  browse "$page" --dump-dom > "$out/$name.dom.html" 2> "$out/$name.log" ||
    fail "chromium could not load $page (see $out/$name.log)"
  if grep -E "CONSOLE|Uncaught|Failed to load resource|net::ERR_" "$out/$name.log"; then
    fail "$page logged errors (above; full log in $out/$name.log)"
  fi
  local dom="$out/$name.dom.html"
  if grep -Eo '(src|href)="(https?:)?//[^"]*"' "$dom"; then
    fail "$page refers to external resources (above); it must be self-contained"
  fi
  grep -q "<svg" "$dom" || fail "no <svg> in the DOM ($dom)"
  local found
  found=$(grep -c '<section class="step[ a-z]*" id="step-[0-9]*">' "$dom" || true)
  (( found == steps )) || fail "$page has $found top-level steps, expected $steps"
  local duplicates
  duplicates=$(grep -o ' id="[^"]*"' "$dom" | sort | uniq -d)
  [[ -z $duplicates ]] || fail "ids used twice in $page: $duplicates"
  local graph_links
  graph_links=$(grep -o 'xlink:href="#step-[0-9]*"' "$dom" | sort -u | wc -l)
  (( graph_links == steps )) || fail "$graph_links steps are linked from the graph of $page, expected $steps"
  # Every link to a step, or from a step back to its node in the graph, points at an element that exists.
  local id
  for id in $(grep -o 'href="#\(step\|tape\)-[0-9-]*"' "$dom" | sort -u | sed 's/.*#//; s/"//'); do
    grep -q "id=\"$id\"" "$dom" || fail "a link in $page points at #$id, which does not exist"
  done
  # Graph edges carry the gradients: a name, a shape and a norm.
  grep -q '‖' "$dom" || fail "no edge of $page's graph is labelled with a gradient's norm"

  local probed="$out/$name.probe.html"
  sed "s|</body>|$(echo "$probe" | tr '\n' ' ' | sed 's/[\\&|]/\\&/g')</body>|" "$page" > "$probed"
  local size width height
  for size in 1400,1000 1000,800; do
    width=${size%,*}
    height=${size#*,}
    browse "$page" --screenshot="$out/$name-${width}x$height.png" --window-size="$size" \
      2>> "$out/$name.log" > /dev/null || fail "chromium could not take a screenshot of $page"
    [[ $(stat -c %s "$out/$name-${width}x$height.png") -gt 20000 ]] ||
      fail "the screenshot $out/$name-${width}x$height.png is (nearly) empty"
    browse "$probed" --dump-dom --window-size="$size" > "$out/$name.probe-$width.html" 2>> "$out/$name.log" ||
      fail "chromium could not load $probed"
    local layout
    layout=$(sed -n '/<pre id="layout">/,/<\/pre>/p' "$out/$name.probe-$width.html" | sed 's/<[^>]*>//g')
    [[ -n $layout ]] || fail "the probe found no layout in $page at $size (see $out/$name.probe-$width.html)"
    echo "$layout" | awk -v W="$width" -v H="$height" -v page="$name" -v second="$second" '
      $1 == "viewport" { w = $4; h = $5 }
      $2 == "missing" { print "check_explain_page: " page ": element " $1 " is missing"; bad = 1 }
      ($1 == "tensor-0" || $1 == "step-0") && NF == 5 {
        if ($2 < 0 || $3 < 0 || $4 > w + 1 || $5 > h + 1) {
          print "check_explain_page: " page " at " W "x" H ": " $1 " at (" $2 ", " $3 ")-(" $4 ", " $5 ") is not within the first screen (" w "x" h ")"
          bad = 1
        }
      }
      $1 == "position" && index($0, second) == 0 { print "check_explain_page: " page ": after next, the control shows \"" $0 "\", expected \"" second "\""; bad = 1 }
      ($1 == "current" || $1 == "arriving") && $2 < 1 { print "check_explain_page: " page ": nothing marked " $1 " by the step control"; bad = 1 }
      END { exit bad }' || fail "the first screen of $page at $size is wrong (above)"
  done
  echo "check_explain_page: $page: ok, $steps steps, every link resolves, loss and first step on the first screen"
}

check_page "$out/two-layer-backward.html" two-layer 14 "step 2 of 14: [1] sum"
check_page "$out/softmax-cross-entropy.html" softmax-cross-entropy 8 "step 2 of 8: [1] Linear"
echo "check_explain_page: ok; screenshots in $out"
