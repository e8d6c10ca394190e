// The local backward rule of a recorded op, as explain mode shows it: the
// rule text of the op's registry entry (retrograd/registry.hpp), so every
// registered op has one by construction; custom ops get a generic line. In an
// explanation the rule's letters are replaced by the tensors' names.
#include <retrograd/explain.hpp>
#include <retrograd/registry.hpp>

#include "explain_rules.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <fmt/format.h>

namespace rg {

bool has_backward_rule(std::string_view op) { return op == "accumulate_grad" || find_op(op) != nullptr; }

std::string backward_rule(std::string_view op) {
    if (op == "accumulate_grad") return "accumulate_grad: leaf.grad += g";
    if (const OpDef* def = find_op(op)) return fmt::format("{}: {}", op, def->rule);
    return fmt::format("{} (custom op): each input gets what its vjp returns for g", op);
}

namespace detail {
namespace {

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The course's symbols for the registry's ASCII: ⊙ for an elementwise
// product, ᵀ, ², −.
std::string typeset(std::string s, bool elementwise) {
    auto replace_all = [&s](std::string_view from, std::string_view to) {
        for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
            s.replace(at, from.size(), to);
    };
    if (elementwise) {
        replace_all(" * ", " ⊙ ");
        // A number or a scalar constant times a tensor is a plain product.
        static const std::regex scalar_times(R"(\b(\d+(?:\.\d+)?|c|v|p|slope|alpha) ⊙ )");
        s = std::regex_replace(s, scalar_times, "$1 · ");
    }
    replace_all("= -", "= −");
    replace_all("(-", "(−");
    replace_all("^T", "ᵀ");
    replace_all("^2", "²");
    replace_all(" - ", " − ");
    replace_all("(1 - ", "(1 − ");
    return s;
}

// Drops "(...)" asides that contain their own formula ("for Y = A W^T, ...").
std::string without_formula_asides(std::string_view rule) {
    std::string out;
    std::size_t at = 0;
    while (at < rule.size()) {
        const auto open = rule.find(" (", at);
        if (open == std::string_view::npos) break;
        const auto close = rule.find(')', open);
        if (close == std::string_view::npos) break;
        out += rule.substr(at, open - at);
        const std::string_view aside = rule.substr(open, close + 1 - open);
        if (aside.find('=') == std::string_view::npos) out += aside;
        at = close + 1;
    }
    out += rule.substr(at);
    return out;
}

// Where each clause of a rule starts: "d<word> =" at a word's start.
std::vector<std::pair<std::size_t, std::string>> clause_starts(const std::string& rule) {
    std::vector<std::pair<std::size_t, std::string>> starts;
    for (std::size_t at = 0; at < rule.size(); ++at) {
        if (rule[at] != 'd' || (at > 0 && word_char(rule[at - 1]))) continue;
        std::size_t end = at;
        while (end < rule.size() && word_char(rule[end])) ++end;
        if (rule.compare(end, 3, " = ") == 0) starts.emplace_back(at, rule.substr(at, end - at));
        at = end;
    }
    return starts;
}

// The rule without the clauses giving the gradients in `dropped` ("db = ..."
// for an optional input left out): each runs to the next clause's start, or
// to the end with the separator before it.
std::string without_clauses(const std::string& rule, const std::set<std::string>& dropped) {
    const auto starts = clause_starts(rule);
    std::string out;
    std::size_t kept_to = 0;
    for (std::size_t i = 0; i < starts.size(); ++i) {
        if (!dropped.count(starts[i].second)) continue;
        const std::size_t begin = starts[i].first;
        out += rule.substr(kept_to, begin - kept_to);
        kept_to = i + 1 < starts.size() ? starts[i + 1].first : rule.size();
        if (i + 1 == starts.size())
            while (!out.empty() && (out.back() == ' ' || out.back() == ',' || out.back() == ';')) out.pop_back();
    }
    return out + rule.substr(kept_to);
}

}  // namespace

std::string grad_of(const std::string& name) {
    const bool one_word = !name.empty() && std::all_of(name.begin(), name.end(), word_char);
    return one_word ? "d" + name : "d(" + name + ")";
}

std::string named_rule(const OpDef& def, const RuleNames& names) {
    std::map<std::string, std::string> to;  // letter -> name
    std::set<std::string> dropped;  // the gradients of inputs left out, whose clauses go
    std::vector<std::string> signature;
    for (std::size_t i = 0; i < names.inputs.size(); ++i) signature.push_back(def.input_name(i));
    const bool g_is_input = std::find(signature.begin(), signature.end(), "g") != signature.end();
    // An input by its signature name, in either case, or by its first letter when no other input shares it
    // (conv2d(x, weight, bias): X, W, b).
    for (std::size_t i = 0; i < signature.size(); ++i) {
        const std::string& s = signature[i];
        std::vector<std::string> spellings{s, lower(s)};
        if (s.size() == 1) spellings.push_back(std::string(1, static_cast<char>(std::toupper(s[0]))));
        const auto first = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
        const bool unique = std::count_if(signature.begin(), signature.end(), [&](const std::string& o) {
                                return std::tolower(static_cast<unsigned char>(o[0])) == first;
                            }) == 1;
        if (unique && s.size() > 1) {
            spellings.push_back(std::string(1, first));
            spellings.push_back(std::string(1, static_cast<char>(std::toupper(first))));
        }
        const bool absent = i < names.absent.size() && names.absent[i];
        for (const std::string& sp : spellings) {
            to.emplace(sp, names.inputs[i]);
            to.emplace("d" + sp, names.input_grads[i]);
            if (absent) dropped.insert("d" + sp);
        }
    }
    for (const char* y : {"y", "Y"}) to.emplace(y, names.output);
    if (g_is_input) {
        to.emplace("h", names.output_grad);
    } else {
        to.emplace("g", names.output_grad);
        to.emplace("G", names.output_grad);
    }

    const std::string rule = without_clauses(without_formula_asides(def.rule), dropped);
    std::string out;
    for (std::size_t at = 0; at < rule.size();) {
        if (!word_char(rule[at])) {
            out += rule[at++];
            continue;
        }
        std::size_t end = at;
        while (end < rule.size() && word_char(rule[end])) ++end;
        const std::string word = rule.substr(at, end - at);
        auto it = to.find(word);
        out += it == to.end() ? word : it->second;
        at = end;
    }
    const bool elementwise = def.kind == OpKind::elementwise || def.kind == OpKind::nn || def.kind == OpKind::backward;
    return typeset(out, elementwise);
}

std::string named_composite_rule(std::string_view rule,
                                 const std::map<std::string, std::pair<std::string, std::string>>& names) {
    std::string out;
    for (std::size_t at = 0; at < rule.size();) {
        const bool grad = rule[at] == 'd' && at + 1 < rule.size() && rule[at + 1] == '{';
        const std::size_t open = grad ? at + 1 : at;
        if (rule[open] == '{') {
            const auto close = rule.find('}', open);
            if (close != std::string_view::npos) {
                auto it = names.find(std::string(rule.substr(open + 1, close - open - 1)));
                if (it != names.end()) {
                    out += grad ? it->second.second : it->second.first;
                    at = close + 1;
                    continue;
                }
            }
        }
        out += rule[at++];
    }
    return out;
}

}  // namespace detail
}  // namespace rg
