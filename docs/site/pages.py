"""The site's pages and their order, and the check that keeps them in step.

The navigation is docs/index.md's own links, in order, under its headings
(build.py); this module also checks that every Markdown page of docs/ is
linked from docs/index.md, that every link there leads to a page, and that the
tutorials are the same in docs/index.md, on disk and in docs/CMakeLists.txt
(whose list ctest builds and runs). Run alone: pages.py REPO (a ctest test).
"""
import re
import sys
from pathlib import Path

LINK = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]*)?\)")


def markdown_pages(source):
    """Every page of the site's Markdown, relative to docs/."""
    docs = Path(source) / "docs"
    found = sorted(p.relative_to(docs).as_posix() for p in docs.glob("*.md"))
    found += sorted(p.relative_to(docs).as_posix() for p in (docs / "tutorials").glob("*.md"))
    return found


def index_groups(index_text):
    """[(heading, [page.md, ...])] from docs/index.md's ## sections, in order."""
    groups, caption, seen = [], None, set()
    for line in index_text.splitlines():
        if line.startswith("## "):
            caption = line[3:].strip()
            groups.append((caption, []))
        elif caption:
            for target, _ in LINK.findall(line):
                if target not in seen:  # a page sits once in the navigation, where first linked
                    seen.add(target)
                    groups[-1][1].append(target)
    return [(c, d) for c, d in groups if d]


def cmake_tutorials(source):
    text = (Path(source) / "docs" / "CMakeLists.txt").read_text()
    body = re.search(r"set\(RG_TUTORIALS(.*?)\)", text, re.S).group(1)
    return sorted(body.split())


def public_headers(source):
    """(include name, path) of the headers the API reference documents: the umbrella, what it includes,
    and rg::dist's (an optional library with its own umbrella)."""
    source = Path(source)
    roots = [source / "include", source / "autodiff" / "include", source / "nn" / "include"]
    headers = []
    for root in roots:
        for header in sorted((root / "retrograd").rglob("*.hpp")):
            name = header.relative_to(root).as_posix()  # retrograd/nn/optim.hpp
            if "detail" not in name.split("/"):
                headers.append((name, header))
    return headers


def check(source):
    source = Path(source)
    docs = source / "docs"
    problems = []
    index = (docs / "index.md").read_text()
    linked = [p for _, group in index_groups(index) for p in group]
    on_disk = markdown_pages(source)
    for page in on_disk:
        if page != "index.md" and page not in linked:
            problems.append(f"docs/{page} is not linked from docs/index.md (so not in the site's navigation)")
    for page in linked:
        if page not in on_disk:
            problems.append(f"docs/index.md links {page}, which does not exist")
    tutorials_disk = sorted(p[len("tutorials/"):-3] for p in on_disk if p.startswith("tutorials/"))
    tutorials_index = sorted(p[len("tutorials/"):-3] for p in linked if p.startswith("tutorials/"))
    tutorials_cmake = cmake_tutorials(source)
    if tutorials_disk != tutorials_cmake:
        problems.append(f"docs/tutorials/ holds {tutorials_disk} but docs/CMakeLists.txt's RG_TUTORIALS "
                        f"(which ctest runs) lists {tutorials_cmake}")
    if tutorials_disk != tutorials_index:
        problems.append(f"docs/tutorials/ holds {tutorials_disk} but docs/index.md links {tutorials_index}")
    # Every page's own relative .md links lead somewhere.
    for page in on_disk:
        for target, _ in LINK.findall((docs / page).read_text()):
            if "://" in target:
                continue
            if not (docs / page).parent.joinpath(target).resolve().is_file():
                problems.append(f"docs/{page} links {target}, which does not exist")
    return problems


if __name__ == "__main__":
    found = check(sys.argv[1] if len(sys.argv) > 1 else ".")
    for problem in found:
        print(problem)
    if not found:
        print(f"pages: {len(markdown_pages(sys.argv[1] if len(sys.argv) > 1 else '.'))} pages, "
              "index, tutorials and navigation in step")
    sys.exit(1 if found else 0)
