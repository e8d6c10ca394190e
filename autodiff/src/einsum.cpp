// einsum: Einstein summation over subscripts, as torch.einsum. The equation
// is parsed and checked against the operands, then computed with existing
// differentiable ops: diagonal for a subscript repeated in one operand, sum
// for a subscript no one else needs, and, operand by operand from the left,
// one batched matmul (or a broadcasting product when nothing is contracted)
// after a permute and a reshape. The gradient is theirs.
#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>
#include <map>

namespace rg {
namespace {

constexpr int letters = 52;  // a-z and A-Z; the dims under '...' get ids from 52 on

const char* const supported =
    "subscripts are letters a-z and A-Z, at most one '...' per operand, operands separated by ',', and an "
    "optional '->' before the output";

int letter_id(char c) { return c >= 'a' && c <= 'z' ? c - 'a' + 26 : c - 'A'; }  // A-Z sort before a-z
char letter_of(int id) { return static_cast<char>(id < 26 ? 'A' + id : 'a' + id - 26); }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// One operand's subscripts: letter ids, with -1 standing for its '...'.
struct Subscripts {
    std::vector<int> items;
    bool ellipsis = false;
    std::size_t letter_count() const { return items.size() - (ellipsis ? 1 : 0); }
};

std::string term_text(const Subscripts& s) {
    std::string text;
    for (int id : s.items) text += id < 0 ? std::string("...") : std::string(1, letter_of(id));
    return text;
}

Subscripts parse_term(std::string_view term, std::string_view equation) {
    Subscripts s;
    for (std::size_t i = 0; i < term.size(); ++i) {
        const char c = term[i];
        if (is_letter(c)) {
            s.items.push_back(letter_id(c));
        } else if (c == '.' && term.substr(i, 3) == "...") {
            if (s.ellipsis) fail("einsum: '{}' has two '...' in the subscripts '{}'; {}", equation, term, supported);
            s.ellipsis = true;
            s.items.push_back(-1);
            i += 2;
        } else {
            fail("einsum: invalid character '{}' in '{}'; {}", c, equation, supported);
        }
    }
    return s;
}

// A tensor with one id per axis.
struct Term {
    Tensor t;
    std::vector<int> ids;
};

int position(const std::vector<int>& ids, int id) {
    return static_cast<int>(std::find(ids.begin(), ids.end(), id) - ids.begin());
}
bool contains(const std::vector<int>& ids, int id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

// Sums away the ids of `term` not in `keep`.
Term sum_out(Term term, const std::vector<int>& keep) {
    Axes axes;
    std::vector<int> rest;
    for (std::size_t d = 0; d < term.ids.size(); ++d) {
        if (contains(keep, term.ids[d]))
            rest.push_back(term.ids[d]);
        else
            axes.push_back(static_cast<int>(d));
    }
    if (axes.empty()) return term;
    return {sum(term.t, axes), rest};
}

Tensor permuted(const Term& term, const std::vector<int>& order) {
    Axes axes;
    for (int id : order) axes.push_back(position(term.ids, id));
    return permute(term.t, axes);
}

// The product of two terms, keeping the ids in `keep` (every other shared id
// is summed): one batched matmul, or a broadcasting product when no id is summed.
Term contract(Term a, Term b, const std::vector<int>& keep, const std::map<int, std::size_t>& size) {
    std::vector<int> keep_a = keep, keep_b = keep;
    keep_a.insert(keep_a.end(), b.ids.begin(), b.ids.end());
    keep_b.insert(keep_b.end(), a.ids.begin(), a.ids.end());
    a = sum_out(a, keep_a);
    b = sum_out(b, keep_b);
    std::vector<int> batch, only_a, only_b, summed;
    for (int id : a.ids) (contains(b.ids, id) ? (contains(keep, id) ? batch : summed) : only_a).push_back(id);
    for (int id : b.ids)
        if (!contains(a.ids, id)) only_b.push_back(id);
    auto sizes = [&](const std::vector<int>& ids) {
        Shape s;
        for (int id : ids) s.push_back(size.at(id));
        return s;
    };
    auto cat = [](std::vector<int> x, const std::vector<int>& y) {
        x.insert(x.end(), y.begin(), y.end());
        return x;
    };
    std::vector<int> ids = cat(cat(batch, only_a), only_b);
    if (summed.empty()) {
        // (batch, only_a, 1...) * (batch, 1..., only_b), broadcasting '...' dims of size 1.
        Shape shape_a, shape_b;
        for (int id : batch) {
            shape_a.push_back(a.t.shape()[position(a.ids, id)]);
            shape_b.push_back(b.t.shape()[position(b.ids, id)]);
        }
        for (int id : only_a) {
            shape_a.push_back(a.t.shape()[position(a.ids, id)]);
            shape_b.push_back(1);
        }
        for (int id : only_b) {
            shape_a.push_back(1);
            shape_b.push_back(b.t.shape()[position(b.ids, id)]);
        }
        return {reshape(permuted(a, cat(batch, only_a)), shape_a) * reshape(permuted(b, cat(batch, only_b)), shape_b),
                ids};
    }
    // (batch, only_a, summed) @ (batch, summed, only_b), each group flattened,
    // '...' dims of size 1 expanded to the other side's size first.
    const Shape batch_shape = sizes(batch), a_shape = sizes(only_a), b_shape = sizes(only_b), k_shape = sizes(summed);
    auto flat = [](const Shape& s) { return static_cast<std::int64_t>(shape_numel(s)); };
    const std::vector<int> order_a = cat(cat(batch, only_a), summed), order_b = cat(cat(batch, summed), only_b);
    Tensor ta = expand(permuted(a, order_a), sizes(order_a));
    Tensor tb = expand(permuted(b, order_b), sizes(order_b));
    ta = reshape(ta, {flat(batch_shape), flat(a_shape), flat(k_shape)});
    tb = reshape(tb, {flat(batch_shape), flat(k_shape), flat(b_shape)});
    Shape out_shape = batch_shape;
    out_shape.insert(out_shape.end(), a_shape.begin(), a_shape.end());
    out_shape.insert(out_shape.end(), b_shape.begin(), b_shape.end());
    return {reshape(matmul(ta, tb), out_shape), ids};
}

}  // namespace

Tensor einsum(std::string_view equation, const TensorList& operands) {
    std::string eq;
    for (char c : equation)
        if (c != ' ') eq += c;
    const std::size_t arrow = eq.find("->");
    if (arrow != std::string::npos && eq.find("->", arrow + 2) != std::string::npos)
        fail("einsum: '{}' has two '->'; {}", equation, supported);
    const std::string lhs = eq.substr(0, arrow);
    std::vector<Subscripts> inputs;
    for (std::size_t from = 0;;) {
        const std::size_t comma = lhs.find(',', from);
        inputs.push_back(parse_term(std::string_view(lhs).substr(from, comma - from), equation));
        if (comma == std::string::npos) break;
        from = comma + 1;
    }
    if (operands.empty()) fail("einsum: got no operands for '{}'", equation);
    if (inputs.size() != operands.size())
        fail("einsum: '{}' has subscripts for {} operand{}, but {} operand{} given", equation, inputs.size(),
             inputs.size() == 1 ? "" : "s", operands.size(), operands.size() == 1 ? " was" : "s were");
    for (std::size_t i = 0; i < operands.size(); ++i) {
        const Tensor& t = detail::defined_or_fail(operands[i], "einsum");
        if (!t.is_floating())
            fail("einsum: expected float32 or float64 operands, got {} for operand {}", dtype_name(t.dtype()), i);
        detail::check_same_dtype(operands[0], t, "einsum");
    }

    // Each operand's ids, with '...' expanded right-aligned into the ids 52 + k.
    std::size_t ellipsis_rank = 0;
    for (std::size_t i = 0; i < operands.size(); ++i) {
        const std::size_t named = inputs[i].letter_count(), rank = operands[i].dim();
        if (inputs[i].ellipsis ? named > rank : named != rank)
            fail("einsum: operand {} has shape {} (rank {}), but its subscripts '{}' in '{}' name {}{} dims", i,
                 shape_str(operands[i].shape()), rank, term_text(inputs[i]), equation,
                 inputs[i].ellipsis ? "at least " : "", named);
        if (inputs[i].ellipsis) ellipsis_rank = std::max(ellipsis_rank, rank - named);
    }
    std::vector<Term> terms;
    std::map<int, std::size_t> size;
    std::map<int, std::size_t> where;  // the operand a letter's size was first seen in
    for (std::size_t i = 0; i < operands.size(); ++i) {
        Term term{operands[i], {}};
        const std::size_t covered = operands[i].dim() - inputs[i].letter_count();
        for (int item : inputs[i].items) {
            if (item >= 0) {
                term.ids.push_back(item);
                continue;
            }
            for (std::size_t k = 0; k < covered; ++k)
                term.ids.push_back(letters + static_cast<int>(ellipsis_rank - covered + k));
        }
        for (std::size_t d = 0; d < term.ids.size(); ++d) {
            const int id = term.ids[d];
            const std::size_t n = operands[i].shape()[d];
            auto [known, inserted] = size.emplace(id, n);
            if (inserted) {
                where[id] = i;
            } else if (id < letters && known->second != n && where[id] == i) {
                fail("einsum: subscript '{}' is repeated in operand {} of '{}' over dims of sizes {} and {}",
                     letter_of(id), i, equation, known->second, n);
            } else if (id < letters && known->second != n) {
                fail("einsum: subscript '{}' has size {} in operand {} and size {} in operand {} of '{}'",
                     letter_of(id), known->second, where[id], n, i, equation);
            } else if (known->second != n && known->second != 1 && n != 1) {
                fail("einsum: the dims under '...' do not broadcast: sizes {} and {} in '{}'", known->second, n,
                     equation);
            } else {
                known->second = std::max(known->second, n);
            }
        }
        terms.push_back(std::move(term));
    }

    // The output's ids: as written after '->', else the '...' dims then the
    // letters used once, in alphabetical order (A-Z before a-z), as torch.
    std::vector<int> output;
    if (arrow != std::string::npos) {
        const Subscripts out = parse_term(std::string_view(eq).substr(arrow + 2), equation);
        for (int item : out.items) {
            if (item < 0) {
                for (std::size_t k = 0; k < ellipsis_rank; ++k) output.push_back(letters + static_cast<int>(k));
                continue;
            }
            if (!size.count(item))
                fail("einsum: output subscript '{}' appears in no operand of '{}'", letter_of(item), equation);
            if (contains(output, item))
                fail("einsum: output subscript '{}' appears twice in '{}'", letter_of(item), equation);
            output.push_back(item);
        }
    } else {
        for (std::size_t k = 0; k < ellipsis_rank; ++k) output.push_back(letters + static_cast<int>(k));
        std::map<int, int> uses;
        for (const Subscripts& s : inputs)
            for (int item : s.items)
                if (item >= 0) ++uses[item];
        for (const auto& entry : uses)
            if (entry.second == 1) output.push_back(entry.first);
    }

    // A subscript repeated within one operand: its diagonal.
    for (Term& term : terms) {
        for (std::size_t p = 0; p < term.ids.size(); ++p)
            for (std::size_t q = p + 1; q < term.ids.size(); ++q) {
                if (term.ids[p] != term.ids[q]) continue;
                const int id = term.ids[p];
                term.t = diagonal(term.t, 0, static_cast<int>(p), static_cast<int>(q));
                term.ids.erase(term.ids.begin() + static_cast<long>(q));
                term.ids.erase(term.ids.begin() + static_cast<long>(p));
                term.ids.push_back(id);
                p = static_cast<std::size_t>(-1);  // start over: the ids moved
                break;
            }
    }

    // Left to right, keeping what the output or a later operand needs.
    auto needed_after = [&](std::size_t i) {
        std::vector<int> keep = output;
        for (std::size_t j = i + 1; j < terms.size(); ++j)
            keep.insert(keep.end(), terms[j].ids.begin(), terms[j].ids.end());
        return keep;
    };
    Term acc = sum_out(terms[0], needed_after(0));
    for (std::size_t i = 1; i < terms.size(); ++i) acc = contract(acc, terms[i], needed_after(i), size);
    return permuted(acc, output);
}

namespace {

// The reference: every assignment of every subscript, multiplied and added.
Tensor einsum_reference(std::string_view equation, const TensorList& operands) {
    using detail::ref::Array;
    std::string eq(equation);
    const std::size_t arrow = eq.find("->");
    std::string lhs = eq.substr(0, arrow), rhs = arrow == std::string::npos ? "" : eq.substr(arrow + 2);
    std::vector<std::string> terms;
    std::size_t widest = 0;
    for (std::size_t from = 0, i = 0;; ++i) {
        const std::size_t comma = lhs.find(',', from);
        std::string term = lhs.substr(from, comma - from);
        const std::size_t dots = term.find("...");
        if (dots != std::string::npos) {
            const std::size_t extra = operands[i].dim() - (term.size() - 3);
            widest = std::max(widest, extra);
            std::string names;
            for (std::size_t k = 0; k < extra; ++k) names += static_cast<char>('0' + (9 - extra + 1 + k) % 10);
            term.replace(dots, 3, names);
        }
        terms.push_back(term);
        if (comma == std::string::npos) break;
        from = comma + 1;
    }
    std::string dims;
    for (std::size_t k = 0; k < widest; ++k) dims += static_cast<char>('0' + (9 - widest + 1 + k) % 10);
    if (arrow == std::string::npos) {
        rhs = dims;
        std::string once;
        for (char c = 'A'; c <= 'z'; ++c) {
            std::size_t count = 0;
            for (const auto& t : terms) count += static_cast<std::size_t>(std::count(t.begin(), t.end(), c));
            if (is_letter(c) && count == 1) once += c;
        }
        rhs += once;
    } else if (const std::size_t dots = rhs.find("..."); dots != std::string::npos) {
        rhs.replace(dots, 3, dims);
    }
    std::map<char, std::size_t> size;
    for (std::size_t i = 0; i < terms.size(); ++i)
        for (std::size_t d = 0; d < terms[i].size(); ++d)
            size[terms[i][d]] = std::max(size[terms[i][d]], operands[i].shape()[d]);
    std::string all;
    Shape all_shape, out_shape;
    for (const auto& entry : size) {
        all += entry.first;
        all_shape.push_back(entry.second);
    }
    for (char c : rhs) out_shape.push_back(size[c]);
    std::vector<Array> arrays;
    for (const Tensor& t : operands) arrays.emplace_back(t);
    Array out(out_shape);
    detail::ref::for_each_index(all_shape, [&](const detail::ref::Index& at) {
        auto value = [&](char c) { return at[all.find(c)]; };
        double product = 1;
        for (std::size_t i = 0; i < terms.size(); ++i) {
            detail::ref::Index index;
            for (std::size_t d = 0; d < terms[i].size(); ++d)
                index.push_back(arrays[i].shape[d] == 1 ? 0 : value(terms[i][d]));
            product *= arrays[i][index];
        }
        detail::ref::Index to;
        for (char c : rhs) to.push_back(value(c));
        out[to] += product;
    });
    return out.tensor();
}

// The generated tests' equations, by the shapes of the sample they run on:
// each sample's results are flattened and concatenated.
const std::vector<std::pair<std::vector<Shape>, std::vector<std::string_view>>>& einsum_cases() {
    static const std::vector<std::pair<std::vector<Shape>, std::vector<std::string_view>>> cases{
        {{Shape{3, 3}}, {"ii->", "ii->i", "ij->ji", "ij->", "ij->j", "ji", "ij"}},
        {{Shape{2, 3}, Shape{3, 4}}, {"ij,jk->ik", "ij,jk", "ij,jk->ki", "ij,jk->ijk", "ij,jk->"}},
        {{Shape{2, 2, 3, 4}, Shape{2, 2, 5, 4}}, {"bhqd,bhkd->bhqk", "...qd,...kd->...qk", "bhqd,bhkd"}},
        {{Shape{2, 2, 3, 5}, Shape{2, 2, 5, 4}}, {"bhqk,bhkd->bhqd", "...qk,...kd->...qd", "bhqk,bhkd->bh"}},
        {{Shape{2, 1, 3, 4}, Shape{3, 4, 5}}, {"...ij,...jk->...ik", "...ij,...jk", "...ij,...jk->ik"}},
        {{Shape{3}, Shape{4}}, {"i,j->ij", "i,j", "i,j->"}},
        {{Shape{2, 3}, Shape{3}, Shape{2}}, {"ij,j,i->", "ij,j,i->i", "ij,j,i"}},
    };
    return cases;
}

template <class F> Tensor over_cases(const TensorList& v, F f) {
    for (const auto& entry : einsum_cases()) {
        bool match = entry.first.size() == v.size();
        for (std::size_t i = 0; match && i < v.size(); ++i) match = entry.first[i] == v[i].shape();
        if (!match) continue;
        TensorList flat;
        for (std::string_view equation : entry.second) flat.push_back(reshape(f(equation, v), {-1}));
        return concat(flat, 0);
    }
    fail("einsum: no test equations for these sample shapes");
}

}  // namespace

const OpDef& einsum_def = define_op(
    {.name = "einsum",
     .signature = "einsum(equation, operands)",
     .doc = "Einstein summation (\"bhqd,bhkd->bhqk\"): letters, '...', implicit output; diagonals, sums, products",
     .rule = "composite: diagonal, sum, permute, reshape, matmul",
     .kind = OpKind::linalg,
     .call =
         [](const TensorList& v) {
             return over_cases(v, [](std::string_view e, const TensorList& t) { return einsum(e, t); });
         },
     .samples = {{{Shape{3, 3}}, -2.0, 2.0},
                 {{Shape{2, 3}, Shape{3, 4}}, -2.0, 2.0},
                 {{Shape{2, 2, 3, 4}, Shape{2, 2, 5, 4}}, -2.0, 2.0},
                 {{Shape{2, 2, 3, 5}, Shape{2, 2, 5, 4}}, -2.0, 2.0},
                 {{Shape{2, 1, 3, 4}, Shape{3, 4, 5}}, -2.0, 2.0},
                 {{Shape{3}, Shape{4}}, -2.0, 2.0},
                 {{Shape{2, 3}, Shape{3}, Shape{2}}, -2.0, 2.0}},
     .composite = true,
     .reference = [](const TensorList& v) { return over_cases(v, einsum_reference); }});

void detail::link_einsum() {}  // see registry.cpp

}  // namespace rg
