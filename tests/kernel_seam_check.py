#!/usr/bin/env python3
"""Keeps the kernel seam (docs/architecture.md, "The kernel seam").

No loop outside autodiff/src/kernels.hpp and autodiff/src/kernels/ walks
tensor data: an op file says what to compute and calls a kernel. A loop there
that reads or writes a tensor's values is reported with its file and line.

    python3 tests/kernel_seam_check.py <repository root>
    python3 tests/kernel_seam_check.py --self-test   (the check on a planted tree)

A loop is a `for (` line and the lines indented below it (clang-format
indents every body). It walks tensor data when it mentions data_ptr<...>,
data<...>(), Dense<...> or an indexed `.data()`, or indexes a pointer the
file took from a tensor (`T* o = out.data_ptr<T>();`, `T* row = o + k;`). Nested loops are
reported once, at the outermost.

ALLOWED names the files that keep such loops, with how many and why: a
count that grows (a new loop) or shrinks (a loop moved behind the seam:
lower it) fails, so that the list stays exact.
"""
import pathlib
import re
import sys

ALLOWED = {
    # Files read and written: bytes decoded into, or encoded from, a buffer.
    "nn/src/serialize.cpp": (2, "tensor files: bytes to and from a buffer"),
    "nn/src/idx.cpp": (2, "IDX files: bytes checked and decoded into a fresh tensor"),
    "nn/src/mnist.cpp": (3, "the MNIST reader: bytes decoded into fresh tensors"),
    # Checks that read values to name the first bad one in an rg::Error.
    "autodiff/src/view_history.cpp": (1, "a recorded view's positions checked against its base"),
    "nn/src/losses.cpp": (1, "cross_entropy and nll_loss check each class index and pick its weight"),
    "nn/src/optim.cpp": (1, "load_state_dict names the first non-finite or negative state value"),
}

DATA = re.compile(r"data_ptr<|\bdata<[\w:]+>\(\)|\bDense<|\.data\(\)\s*[\[+]")
POINTER = re.compile(r"\b(\w+)\s*=\s*[^;]*?(?:data_ptr<|\bdata<[\w:]+>\(\)|\.data\(\))")
ALGORITHM = re.compile(
    r"\bstd::(?:fill|fill_n|copy|copy_n|transform|any_of|all_of|none_of|count|count_if|accumulate|"
    r"max_element|min_element|iota|sort|partial_sort|reverse|replace)\("
)
FOR = re.compile(r"^(\s*)(?:.*\W)?for \(")


def loops_over_data(lines):
    pointers = {m.group(1) for line in lines for m in POINTER.finditer(line)}
    while True:  # and the pointers offset from those: `T* row = out + off[1];`
        offset = re.compile(r"\b(\w+)\s*=\s*(?:%s)\s*\+" % "|".join(sorted(pointers))) if pointers else None
        more = {m.group(1) for line in lines for m in offset.finditer(line)} - pointers if offset else set()
        if not more:
            break
        pointers |= more
    indexed = re.compile(r"(?<![\w.>])(?:%s)\s*(?:\[| \+ )" % "|".join(sorted(pointers))) if pointers else None
    named = re.compile(r"(?<![\w.>])(?:%s)\b(?!\s*\()" % "|".join(sorted(pointers))) if pointers else None
    found, i = [], 0
    while i < len(lines):
        m = FOR.match(lines[i])
        if not m:
            # A loop written as a standard algorithm over a tensor's elements.
            if ALGORITHM.search(lines[i]):
                statement, end = lines[i], i
                while ";" not in statement and end + 1 < len(lines):
                    end += 1
                    statement += "\n" + lines[end]
                if DATA.search(statement) or "data_ptr<" in statement or (named and named.search(statement)):
                    found.append((i + 1, lines[i].strip()))
            i += 1
            continue
        indent = len(m.group(1))
        end = i + 1
        while end < len(lines):
            stripped = lines[end].lstrip(" ")
            if stripped and len(lines[end]) - len(stripped) <= indent:
                break
            end += 1
        body = "\n".join(lines[i:end])
        if DATA.search(body) or (indexed and indexed.search(body)):
            found.append((i + 1, lines[i].strip()))
            i = end  # the loops nested in it are part of it
        else:
            i += 1
    return found


def check(root, allowed):
    """The seam's failures under `root`, each a message, and the count of files read."""
    files = sorted(
        p for d in ("autodiff/src", "nn/src") for p in (root / d).rglob("*") if p.suffix in (".cpp", ".hpp")
    )
    failures, seen = [], set()
    for path in files:
        name = path.relative_to(root).as_posix()
        if name.startswith("autodiff/src/kernels/") or name in ("autodiff/src/kernels.hpp", "autodiff/src/kernels.cpp"):
            continue
        found = loops_over_data(path.read_text(encoding="utf-8").splitlines())
        expected, reason = allowed.get(name, (0, ""))
        seen.add(name)
        if len(found) == expected:
            continue
        where = "".join(f"\n  {name}:{line}: {text}" for line, text in found)
        if expected == 0:
            failures.append(
                f"{name}: {len(found)} loop(s) over tensor data outside autodiff/src/kernels/; move each "
                f'into a kernel (docs/contributing.md, "Adding a kernel"):{where}'
            )
        else:
            failures.append(
                f"{name}: {len(found)} loop(s) over tensor data where the allow-list says {expected} ({reason}); "
                f"move a new loop into a kernel, or lower the count once one has moved:{where}"
            )
    failures += [f"{name}: in the allow-list but not a source file" for name in allowed if name not in seen]
    return failures, len(seen)


SELF_TEST = {
    # An op file's raw loops (two for loops, one std::fill_n): each must be reported, at its line.
    "autodiff/src/bad_op.cpp": """Tensor twice(const Tensor& x) {
    Tensor out = detail::empty_dense<float>(x.shape(), "twice");
    float* o = out.data_ptr<float>();
    const float* in = x.data_ptr<float>();
    for (std::size_t i = 0; i < x.numel(); ++i) {
        o[i] = 2 * in[i];
    }
    float* row = o + 3;
    for (std::size_t i = 0; i < 3; ++i) row[i] = 0;
    std::fill_n(out.data_ptr<float>(),
                3, 1.0f);
    return out;
}
""",
    # Loops that touch no tensor data, and a kernel's loop: none reported.
    "autodiff/src/good_op.cpp": """Tensor twice(const Tensor& x) {
    for (std::size_t d = 0; d < x.dim(); ++d) check(x.shape()[d]);
    Tensor out = detail::empty_dense<float>(x.shape(), "twice");
    detail::scale_into(x, out, 2.0);
    return out;
}
""",
    "autodiff/src/kernels/scale.hpp": """template <class T> void scale(T* out, const T* in, std::size_t n, T f) {
    for (std::size_t i = 0; i < n; ++i) out[i] = f * in[i];
}
""",
}


def self_test():
    """The check on a planted tree: reports the three raw loops of bad_op.cpp and nothing else."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name, text in SELF_TEST.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        failures, _ = check(root, {})
        expected = ["bad_op.cpp: 3 loop(s)", "bad_op.cpp:5: ", "bad_op.cpp:9: ", "bad_op.cpp:10: "]
        if len(failures) != 1 or not all(e in failures[0] for e in expected):
            print("kernel seam self-test: expected bad_op.cpp's three loops (lines 5, 9, 10) alone, got:\n"
                  + "\n".join(failures), file=sys.stderr)
            return 1
        failures, _ = check(root, {"autodiff/src/bad_op.cpp": (3, "planted")})
        if failures:
            print("kernel seam self-test: the allow-list did not accept bad_op.cpp's three loops:\n"
                  + "\n".join(failures), file=sys.stderr)
            return 1
    print("kernel seam self-test: the planted loops are reported at their lines, the others are not")
    return 0


def main():
    if sys.argv[1:2] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    failures, count = check(root, ALLOWED)
    if failures:
        print("kernel seam:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    print(f"kernel seam: {count} files, no loop over tensor data outside autodiff/src/kernels/ "
          "but the allow-list's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
