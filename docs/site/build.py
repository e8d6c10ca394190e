#!/usr/bin/python3
"""Builds the documentation site (`make docs`, the CMake target `docs`).

  build.py --source REPO --work DIR --html OUT --cli RETROGRAD [--version V]
  build.py --source REPO --work DIR --check-only     (steps 1 and 2)
  build.py --work DIR --self-test                    (the check of step 2 finds what it should)

1. Doxygen reads the public headers (docs/site/Doxyfile) into XML; any
   warning fails, except those listed in docs/site/exceptions.txt.
2. Every public symbol must be documented (check_documented.py), in every
   public header.
3. The Markdown pages of docs/ are laid out in DIR/src as they are; three
   things are added on the way, none changing what a page says: the hidden
   navigation (taken from docs/index.md's links, in order) on the front page,
   a link from each row of the op table to the op's reference entry, and a
   class on the tutorials' program and output blocks (the browser check finds
   them by it).
4. The API reference (one page per public header, Breathe), and the pages made
   at build time: `retrograd graph --explain` as HTML and a short training
   run's chart.
5. Sphinx writes OUT; any warning fails, except those in exceptions.txt.
Needs Debian's doxygen, python3-sphinx, python3-breathe, python3-myst-parser
(bash .ci/install-deps docs), graphviz and dataset-fashion-mnist.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import check_documented  # noqa: E402
import pages  # noqa: E402


def fail(message):
    print(f"docs: {message}", file=sys.stderr)
    sys.exit(1)


def read_exceptions():
    """exceptions.txt: `warning REGEX  why` lines (a header cannot be let off
    documenting its declarations)."""
    warnings = []
    for line in (HERE / "exceptions.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, rest = line.split(None, 1)
        value = rest.split("  ")[0].strip()
        if kind == "warning":
            warnings.append(re.compile(value))
        else:
            fail(f"exceptions.txt: unknown kind '{kind}' in: {line}")
    return warnings


# The self-test's public header: one declaration of each kind the check must
# report, beside documented ones it must let through.
SELF_TEST_HEADER = '''#pragma once
// A header for build.py --self-test.
namespace rg {
/// Documented, every parameter too.
/// @param a the first
/// @param b the second
int documented(int a, int b);
int undocumented_function(int a);
/// Documented, but one parameter is not.
/// @param a the first
int missing_param(int a, int b);
struct UndocumentedStruct {
    /// Documented.
    int documented_member = 0;
    int undocumented_member = 0;
};
/// Documented.
enum class Colour {
    red,  ///< documented
    green
};
}  // namespace rg
'''
SELF_TEST_EXPECTED = ["function rg::undocumented_function(int a)", "no @param for b", "struct rg::UndocumentedStruct",
                      "variable rg::UndocumentedStruct::undocumented_member", "enum value rg::Colour::green"]


def self_test(work, allowed):
    """Runs steps 1 and 2 over a planted header: they must report exactly the
    undocumented declarations it holds (so a broken check cannot pass silently)."""
    source = work / "self-test-source"
    shutil.rmtree(source, ignore_errors=True)
    for root in ("include", "autodiff/include", "nn/include"):
        (source / root / "retrograd").mkdir(parents=True)
    (source / "include" / "retrograd" / "sample.hpp").write_text(SELF_TEST_HEADER)
    # Doxygen's own warning about missing_param's b is expected here.
    allowed = allowed + [re.compile(r"sample\.hpp:\d+: warning: The following parameter of rg::missing_param")]
    found = check_documented.undocumented(run_doxygen(source, work / "self-test", allowed))
    missed = [e for e in SELF_TEST_EXPECTED if not any(e in f for f in found)]
    extra = [f for f in found if not any(e in f for e in SELF_TEST_EXPECTED)]
    if missed or extra or len(found) != len(SELF_TEST_EXPECTED):
        fail("self-test: the documentation check reported\n  " + "\n  ".join(found) + "\nexpected exactly one "
             "line for each of\n  " + "\n  ".join(SELF_TEST_EXPECTED))
    print(f"docs: self-test passed: the check reports the {len(found)} undocumented declarations planted")


def unexpected(log_lines, allowed):
    """The warnings no exception allows; a warning is its line and those
    continuing it (Sphinx's C++ parser explains over several lines)."""
    entries = []
    for line in log_lines:
        if re.match(r"^\S.*(WARNING|ERROR|warning|error)", line) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return [w for w in entries if w.strip() and not any(a.search(w) for a in allowed)]


def run_doxygen(source, work, allowed):
    out = work / "doxygen"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = dict(os.environ, RG_SOURCE=str(source), RG_DOXYGEN_OUT=str(out))
    # Warnings are collected and judged here, against the exception list.
    config = (HERE / "Doxyfile").read_text().replace("FAIL_ON_WARNINGS", "NO")
    config += f"\nWARN_LOGFILE = {out / 'warnings.log'}\n"
    (out / "Doxyfile").write_text(config)
    result = subprocess.run(["doxygen", str(out / "Doxyfile")], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"doxygen failed:\n{result.stdout}{result.stderr}")
    bad = unexpected((out / "warnings.log").read_text().splitlines(), allowed)
    if bad:
        fail("Doxygen warnings (fix them, or justify them in docs/site/exceptions.txt):\n" + "\n".join(bad))
    return out / "xml"


FENCE = re.compile(r"^```(cpp program|output)\s*$")


def mark_blocks(text):
    """```cpp program / ```output blocks get a class the browser check finds."""
    lines = []
    for line in text.split("\n"):
        match = FENCE.match(line)
        if match:
            kind = match.group(1)
            lines.append("```{code-block} " + ("cpp" if kind == "cpp program" else "text"))
            lines.append(":class: " + ("rg-program" if kind == "cpp program" else "rg-output"))
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


OP_ROW = re.compile(r"^\| `(?P<op>[a-z_0-9]+)` \| `(?P<call>[^`]*)` \|")


def documented_functions(xml):
    """The qualified names of the functions in the reference."""
    names = set()
    for path in xml.glob("*.xml"):
        for compound in ET.parse(path).getroot().iter("compounddef"):
            scope = compound.findtext("compoundname")
            for member in compound.iter("memberdef"):
                if member.get("kind") == "function":
                    names.add(f"{scope}::{member.findtext('name')}" if compound.get("kind") != "file"
                              else member.findtext("qualifiedname"))
    return names


# Ops the library records on the user's behalf, with no function of their
# own: an in-place write into a view (copy_slices) and a view used after its
# base was written (as_strided) link to the write that records them.
RECORDED_BY = {"copy_slices": "rg::Tensor::copy_", "as_strided": "rg::Tensor::copy_"}


def link_op_table(text, functions):
    """Each op of the generated table links to the reference of its function;
    an op that is another's gradient and has no function of its own
    (tanh_backward) links to that op's."""
    begin, end = "<!-- op table: generated from the registry -->", "<!-- end of op table -->"
    start, stop = text.index(begin), text.index(end)
    rows = []
    for row in text[start:stop].split("\n"):
        match = OP_ROW.match(row)
        if match:
            call = match.group("call")
            method = call.startswith("x.")
            name = call[2:] if method else call
            name = name.split("(")[0]
            target = f"rg::Tensor::{name}" if method else f"rg::{name}"
            if target not in functions and name.endswith("_backward"):
                target = f"rg::{name.removesuffix('_backward')}"
            target = RECORDED_BY.get(match.group("op"), target)
            if target not in functions:
                fail(f"docs/autodiff.md's op table: op '{match.group('op')}' has no function in the reference "
                     f"(looked for {target})")
            row = row.replace(f"| `{match.group('op')}` |", f"| {{cpp:func}}`{match.group('op')} <{target}>` |", 1)
        rows.append(row)
    return text[:start] + "\n".join(rows) + text[stop:]


def navigation(index_text):
    """The front page's hidden toctrees: its own links, grouped by heading."""
    groups = pages.index_groups(index_text)
    blocks = []
    for caption, docs in groups:
        entries = "\n".join(d[:-3] for d in docs)
        blocks.append(f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{entries}\n```\n")
    blocks.append("```{toctree}\n:hidden:\n:caption: Generated by the build\n\n"
                  "api/index\nbuilt/explain\nbuilt/training-chart\n```\n")
    return "\n".join(blocks)


def stage_pages(source, src, functions):
    docs = source / "docs"
    for page in pages.markdown_pages(source):
        text = (docs / page).read_text()
        text = mark_blocks(text)
        if page == "autodiff.md":
            text = link_op_table(text, functions)
        if page == "index.md":
            text += "\n" + navigation((docs / page).read_text())
        (src / page).parent.mkdir(parents=True, exist_ok=True)
        (src / page).write_text(text)
    for picture in ("architecture.svg", "architecture.dot"):
        shutil.copy(docs / picture, src / picture)


def header_title(path):
    """A header's first comment line, for the API index."""
    for line in path.read_text().splitlines()[1:]:
        if line.startswith("///") or line.startswith("//"):
            return line.lstrip("/! ").strip()
    return ""


def stage_api(source, src, xml):
    index = ET.parse(xml / "index.xml").getroot()
    file_ids = {}
    for compound in index.iter("compound"):
        if compound.get("kind") == "file":
            location = ET.parse(xml / f"{compound.get('refid')}.xml").getroot().find("compounddef/location")
            file_ids[location.get("file")] = compound.get("refid")
    api = src / "api"
    api.mkdir()
    entries = []
    for name, header in pages.public_headers(source):
        slug = name.removeprefix("retrograd/").removesuffix(".hpp").replace("/", "-")
        title = f"`<{name}>`"
        # The label Doxygen's references to the header use (#include lines).
        label = f"({file_ids[name]})=\n" if name in file_ids else ""
        (api / f"{slug}.md").write_text(f"{label}# {title}\n\n```{{doxygenfile}} {name}\n:project: retrograd\n```\n")
        entries.append((slug, name, header_title(header)))
    rows = "\n".join(f"| [`<{name}>`]({slug}.md) | {what} |" for slug, name, what in entries)
    toc = "\n".join(slug for slug, _, _ in entries)
    (api / "index.md").write_text(
        "# API reference\n\nGenerated from the public headers by Doxygen and Breathe. "
        "`#include <retrograd/retrograd.hpp>` includes all of them but `rg::dist` "
        "(`<retrograd/dist/dist.hpp>`, library `retrograd::dist`, needs MPI).\n\n"
        f"| header | what it declares |\n| --- | --- |\n{rows}\n\n"
        f"```{{toctree}}\n:hidden:\n\n{toc}\n```\n")


def stage_built(cli, src, work):
    built = src / "built"
    built.mkdir()
    extra = work / "extra"
    shutil.rmtree(extra, ignore_errors=True)
    (extra / "built").mkdir(parents=True)
    explain = extra / "built" / "explain-mlp.html"
    subprocess.run([cli, "graph", "--explain", "--model", "mlp", "--output", str(explain)], check=True,
                   capture_output=True)
    text = subprocess.run([cli, "graph", "--explain", "--model", "mlp"], check=True, capture_output=True,
                          text=True).stdout
    (built / "explain.md").write_text(
        "# Explain page: one training step of the MLP\n\n"
        "Made at build time by `retrograd graph --explain --output explain-mlp.html`: the backward pass of one "
        "training step of the command-line tool's MLP, node by node, with the graph (Graphviz) linked to the "
        "steps. <a href=\"explain-mlp.html\">Open the page on its own</a>; "
        "[tutorial 12](../tutorials/12-explain-backpropagation.md) explains how to read it.\n\n"
        '<iframe src="explain-mlp.html" title="explain page" style="width:100%;height:70vh;border:1px solid #ccc">'
        "</iframe>\n\n"
        "The same explanation as text (`retrograd graph --explain`), its first steps:\n\n"
        "```text\n" + "\n".join(text.splitlines()[:40]) + "\n```\n")
    run = work / "training-run"
    shutil.rmtree(run, ignore_errors=True)
    result = subprocess.run([cli, "train", "--epochs", "3", "--limit", "3000", "--test-limit", "500",
                             "--out", str(run)], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"the training run for the chart failed:\n{result.stdout}{result.stderr}")
    shutil.copy(run / "chart.svg", built / "training-chart.svg")
    metrics = (run / "metrics.csv").read_text().strip().splitlines()
    table = ["| " + " | ".join(metrics[0].split(",")) + " |", "|" + " --- |" * len(metrics[0].split(","))]
    table += ["| " + " | ".join(row.split(",")) + " |" for row in metrics[1:]]
    (built / "training-chart.md").write_text(
        "# A training chart\n\n"
        "Made at build time by a short run of the command-line tool, `retrograd train --epochs 3 --limit 3000 "
        "--test-limit 500` (the MLP on 3000 Fashion-MNIST images): the chart and `metrics.csv` it writes. "
        "The full runs and their measured results are in [cli.md](../cli.md#measured).\n\n"
        "![loss and accuracy per epoch](training-chart.svg)\n\n" + "\n".join(table) + "\n")
    return extra


def run_sphinx(src, html, work, extra, xml, version, allowed):
    shutil.rmtree(html, ignore_errors=True)
    log = work / "sphinx-warnings.log"
    env = dict(os.environ, RG_DOXYGEN_XML=str(xml), RG_VERSION=version)
    command = ["/usr/bin/sphinx-build", "-b", "html", "-Q", "-c", str(HERE), "-w", str(log),
               "-D", f"html_extra_path={extra}", "-d", str(work / "doctrees"), str(src), str(html)]
    result = subprocess.run(command, env=env)
    if result.returncode != 0:
        fail("sphinx-build failed")
    # Sphinx writes the file only when it has a warning to write.
    bad = unexpected(log.read_text().splitlines() if log.exists() else [], allowed)
    if bad:
        fail("Sphinx warnings (fix them, or justify them in docs/site/exceptions.txt):\n" + "\n".join(bad))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--html", type=Path)
    parser.add_argument("--cli")
    parser.add_argument("--check-only", action="store_true",
                        help="only steps 1 and 2 (Doxygen's warnings, every public declaration documented)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that steps 1 and 2 report the undocumented declarations of a planted header")
    parser.add_argument("--version", default="")
    args = parser.parse_args()
    allowed = read_exceptions()
    if args.self_test:
        self_test(args.work.resolve(), allowed)
        return
    if not args.source:
        parser.error("--source is needed")
    if not args.check_only and not (args.html and args.cli):
        parser.error("--html and --cli are needed to build the site")
    source, work = args.source.resolve(), args.work.resolve()

    xml = run_doxygen(source, work, allowed)
    undocumented = check_documented.undocumented(xml)
    if undocumented:
        fail("undocumented public declarations (each needs a /// comment; see docs/contributing.md):\n"
             + "\n".join(undocumented))
    problems = pages.check(source)
    if problems:
        fail("\n".join(problems))
    if args.check_only:
        print("docs: Doxygen has no warning and every public declaration is documented")
        return
    html = args.html.resolve()

    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    stage_pages(source, src, documented_functions(xml))
    stage_api(source, src, xml)
    extra = stage_built(args.cli, src, work)
    run_sphinx(src, html, work, extra, xml, args.version, allowed)
    print(f"docs: the site is in {html} (open {html / 'index.html'})")


if __name__ == "__main__":
    main()
