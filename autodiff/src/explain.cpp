// explain: one backward pass, recorded node by node through rg::ObserveBackward.
#include <retrograd/explain.hpp>

#include <retrograd/registry.hpp>
#include "graph_labels.hpp"
#include "kernels.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

namespace rg {
namespace {

struct Event {
    const Node* node;
    Tensor grad_output;
    TensorList grads;
};

// Deep copies of what the pass produced: the engine may reuse a gradient's
// buffer once it has been handed on (detach() need not copy; clone() does).
Tensor kept(const Tensor& t) {
    if (!t.defined()) return {};
    NoGrad off;
    return t.clone();
}

std::string input_name(const OpDef* def, std::size_t i) { return def ? def->input_name(i) : fmt::format("input{}", i); }

std::string step_ref(const ExplainStep& s) {
    if (s.op == "accumulate_grad") return fmt::format("[{}] {}.grad", s.index, s.leaf);
    return fmt::format("[{}] {}{}", s.index, s.op, s.output.empty() ? "" : " -> " + s.output);
}

// A tensor on one or more lines; continuation lines start with `indent` spaces.
std::string show(const Tensor& t, std::size_t max_elements, std::size_t indent) {
    if (!t.defined()) return "(none)";
    std::string text;
    if (t.numel() <= max_elements) {
        text = to_string(t);
    } else {
        const auto v = t.to_vector();
        double norm = 0;
        std::size_t largest = 0;
        for (std::size_t k = 0; k < v.size(); ++k) {
            norm += v[k] * v[k];
            if (std::abs(v[k]) > std::abs(v[largest])) largest = k;
        }
        std::vector<std::string> first;
        for (std::size_t k = 0; k < std::min<std::size_t>(4, v.size()); ++k)
            first.push_back(fmt::format("{:.6g}", v[k]));
        text = fmt::format("{} {}, norm {:.6g}, first {}, ..., largest {:.6g} at {}", shape_str(t.shape()),
                           dtype_name(t.dtype()), std::sqrt(norm), fmt::join(first, ", "), v[largest],
                           index_str(largest, t.shape()));
    }
    std::string out;
    for (char c : text) {
        out += c;
        if (c == '\n') out += std::string(indent, ' ');
    }
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

Explanation explain(const Tensor& output, const ExplainOptions& options) {
    detail::defined_or_fail(output, "explain");
    if (!output.requires_grad())
        fail("explain: the output (shape {}) does not require grad; it was computed from tensors without "
             "requires_grad, or under rg::NoGrad, so there is no backward pass to explain",
             shape_str(output.shape()));
    const detail::GraphLabels labels(options.names, output);
    std::vector<Event> events;
    {
        ObserveBackward watch([&events](const BackwardEvent& e) {
            Event ev{e.node, kept(*e.grad_output), {}};
            for (const Tensor& g : *e.grad_inputs) ev.grads.push_back(kept(g));
            events.push_back(std::move(ev));
        });
        const TensorList seed = options.grad_output.defined() ? TensorList{options.grad_output} : TensorList{};
        if (options.accumulate) {
            backward({output}, seed, {.retain_graph = options.retain_graph});
        } else {
            // The same pass, its leaves' gradients returned rather than accumulated.
            TensorList leaves;
            if (!output.grad_fn()) leaves.push_back(output);
            for (const Node* n : detail::reachable_nodes(output))
                if (n->is_accumulator() && n->leaf()) leaves.push_back(Tensor(n->leaf()));
            grad({output}, leaves, seed, {.retain_graph = options.retain_graph, .allow_unused = true});
        }
    }

    Explanation ex;
    ex.max_elements = options.max_elements;
    const std::string output_name = labels.node_name(output.grad_fn().get());
    ex.output = labels.output_mark() + (output_name.empty() ? "" : " " + output_name);
    ex.output_shape = output.shape();
    std::map<const Node*, std::size_t> step_of;
    for (std::size_t i = 0; i < events.size(); ++i) step_of[events[i].node] = i;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const Event& ev = events[i];
        const Node* n = ev.node;
        ExplainStep s;
        s.index = i;
        s.tape_position = n->sequence();
        s.op = n->op();
        s.shape = n->out_shape;
        s.grad_output = ev.grad_output;
        if (n->is_accumulator()) {
            s.leaf = labels.leaf_name(n->leaf().get());
            if (s.leaf.empty()) s.leaf = "leaf";
            s.rule = fmt::format("accumulate_grad: {}.grad += g", s.leaf);
        } else {
            s.output = n == output.grad_fn().get() ? ex.output : labels.node_name(n);
            s.rule = backward_rule(n->op());
            for (std::size_t k = 0; k < n->edges.size(); ++k) {
                const Edge& edge = n->edges[k];
                ExplainSend send;
                send.input = k;
                send.input_name = input_name(n->def(), k);
                send.input_label = detail::edge_label(edge, labels);
                if (k < ev.grads.size()) send.grad = ev.grads[k];
                if (!edge.node) {
                    send.destination =
                        labels.input_name(edge).empty() ? "a constant, needs no gradient" : "needs no gradient";
                    send.grad = Tensor{};
                } else if (!send.grad.defined()) {
                    send.destination = "nothing sent";
                } else if (auto it = step_of.find(edge.node.get()); it != step_of.end()) {
                    send.to_step = static_cast<long>(it->second);
                } else {
                    send.destination = "not used: the node it goes to does not lead to a leaf that requires grad";
                }
                s.sends.push_back(std::move(send));
            }
        }
        ex.steps.push_back(std::move(s));
    }
    for (ExplainStep& s : ex.steps)
        for (ExplainSend& send : s.sends)
            if (send.to_step >= 0) {
                ExplainStep& target = ex.steps[static_cast<std::size_t>(send.to_step)];
                target.from_steps.push_back(s.index);
                send.destination = step_ref(target);
            }
    detail::DotDecoration decoration;
    decoration.link = [&step_of](const Node* n) {
        auto it = step_of.find(n);
        return it == step_of.end() ? std::string() : fmt::format("#step-{}", it->second);
    };
    decoration.prefix = [&step_of](const Node* n) {
        auto it = step_of.find(n);
        return it == step_of.end() ? std::string() : fmt::format("[{}] ", it->second);
    };
    ex.dot = detail::dot_graph(output, labels, {}, decoration);
    return ex;
}

const ExplainStep& Explanation::step(std::string_view name) const {
    for (const ExplainStep& s : steps)
        if (s.output == name || s.leaf == name) return s;
    for (const ExplainStep& s : steps)  // the output's bare mark: "loss" for "loss C"
        if (!s.output.empty() && s.output == output && output.rfind(std::string(name) + " ", 0) == 0) return s;
    std::vector<std::string> known;
    for (const ExplainStep& s : steps) {
        if (!s.output.empty()) known.push_back("'" + s.output + "'");
        if (!s.leaf.empty()) known.push_back("'" + s.leaf + "'");
    }
    fail("explain: no step made a tensor named '{}'; the named ones are {}", name,
         known.empty() ? std::string("none (name tensors with ExplainOptions::names)")
                       : fmt::format("{}", fmt::join(known, ", ")));
}

std::string Explanation::to_string() const {
    std::ostringstream os;
    os << fmt::format("backward pass from {} {}: {} step{}; g is the gradient arriving at a node's output\n", output,
                      shape_str(output_shape), steps.size(), steps.size() == 1 ? "" : "s");
    for (const ExplainStep& s : steps) {
        if (s.op == "accumulate_grad") {
            os << fmt::format("[{}] {} {}: its gradient\n", s.index, s.leaf, shape_str(s.shape));
        } else {
            os << fmt::format("[{}] {}{} {}\n", s.index, s.op, s.output.empty() ? "" : " -> " + s.output,
                              shape_str(s.shape));
        }
        std::vector<std::string> from;
        for (std::size_t f : s.from_steps) from.push_back(fmt::format("[{}]", f));
        const std::string source = from.empty()       ? "the seed"
                                   : from.size() == 1 ? "from " + from[0]
                                                      : fmt::format("sum of {}", fmt::join(from, " + "));
        os << fmt::format("    g     {}  ({})\n", show(s.grad_output, max_elements, 10), source);
        os << fmt::format("    rule  {}\n", s.rule);
        for (const ExplainSend& send : s.sends) {
            const std::string label = fmt::format("d{}", send.input_name);
            if (!send.grad.defined()) {
                os << fmt::format("    {:<5} {}: {}\n", label, send.input_label, send.destination);
            } else {
                os << fmt::format("    {:<5} {}  -> {}\n", label, show(send.grad, max_elements, 10), send.destination);
            }
        }
    }
    return os.str();
}

namespace {

// dot -Tsvg on `dot_text`, as a subprocess with files for its streams. Returns
// the SVG, or sets `problem` to what went wrong.
std::string run_dot(const std::string& program, const std::string& dot_text, std::string& problem);

}  // namespace

std::string explain_html(const Explanation& ex, const HtmlOptions& options) {
    std::string problem;
    std::string svg = run_dot(options.dot_program, ex.dot, problem);
    if (const auto at = svg.find("<svg"); at != std::string::npos) svg.erase(0, at);
    const std::string title = options.title.empty() ? fmt::format("Backward pass from {}", ex.output) : options.title;
    std::ostringstream os;
    os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << html_escape(title)
       << "</title>\n<style>\n"
          "body { font-family: sans-serif; margin: 1.5em; color: #222; }\n"
          "#graph { overflow: auto; border: 1px solid #ccc; padding: 0.5em; max-height: 80vh; }\n"
          "#graph svg { max-width: 100%; height: auto; }\n"
          "#graph a:hover polygon, #graph a:hover ellipse { stroke-width: 3; }\n"
          "#graph g.node:target polygon, #graph g.node:target ellipse { stroke: #e6a700; stroke-width: 4; }\n"
          ".step { border-left: 4px solid #9cc3e6; margin: 0.8em 0; padding: 0.3em 0.8em; }\n"
          ".step:target { background: #fff6d5; border-left-color: #e6a700; }\n"
          ".step h3 { margin: 0.2em 0; font-size: 1.05em; }\n"
          ".rule { font-family: monospace; color: #064; }\n"
          "pre { margin: 0.2em 0 0.2em 1em; white-space: pre-wrap; }\n"
          "table { border-collapse: collapse; } td { vertical-align: top; padding: 0.1em 0.6em; }\n"
          ".missing { background: #fde; padding: 0.5em; }\n"
          "</style>\n</head>\n<body>\n<h1>"
       << html_escape(title) << "</h1>\n<p>" << ex.steps.size() << (ex.steps.size() == 1 ? " step" : " steps")
       << ", in the order the backward pass ran them. <code>g</code> is the gradient arriving at a node's "
          "output; each step applies its op's local rule and sends a gradient to each input. Click a node of the "
          "graph to go to its step.</p>\n<div id=\"graph\">\n";
    if (problem.empty()) {
        os << svg << "\n";
    } else {
        os << "<p class=\"missing\">" << html_escape(problem) << "</p>\n";
    }
    os << "</div>\n<h2>Steps</h2>\n";
    for (const ExplainStep& s : ex.steps) {
        os << "<section class=\"step\" id=\"step-" << s.index << "\">\n<h3>";
        if (s.op == "accumulate_grad")
            os << html_escape(fmt::format("[{}] {} {}: its gradient", s.index, s.leaf, shape_str(s.shape)));
        else
            os << html_escape(fmt::format("[{}] {}{} {}", s.index, s.op, s.output.empty() ? "" : " → " + s.output,
                                          shape_str(s.shape)));
        // Back to this node in the graph (highlighted there by :target), or to where the graph would be.
        os << " <a href=\"#" << (problem.empty() ? fmt::format("tape-{}", s.tape_position) : std::string("graph"))
           << "\" title=\"this node in the graph\">↑</a></h3>\n<table>\n";
        std::string from;
        for (std::size_t f : s.from_steps)
            from += fmt::format("{}<a href=\"#step-{}\">[{}]</a>", from.empty() ? "" : " + ", f, f);
        os << "<tr><td>g</td><td><pre>" << html_escape(show(s.grad_output, ex.max_elements, 0)) << "</pre></td><td>"
           << (from.empty() ? "the seed" : (s.from_steps.size() == 1 ? "from " : "sum of ") + from) << "</td></tr>\n";
        os << "<tr><td>rule</td><td colspan=\"2\" class=\"rule\">" << html_escape(s.rule) << "</td></tr>\n";
        for (const ExplainSend& send : s.sends) {
            os << "<tr><td>d" << html_escape(send.input_name) << "</td>";
            if (!send.grad.defined()) {
                os << "<td colspan=\"2\">" << html_escape(send.input_label + ": " + send.destination) << "</td></tr>\n";
                continue;
            }
            os << "<td><pre>" << html_escape(show(send.grad, ex.max_elements, 0)) << "</pre></td><td>→ ";
            if (send.to_step >= 0)
                os << "<a href=\"#step-" << send.to_step << "\">" << html_escape(send.destination) << "</a>";
            else
                os << html_escape(send.destination);
            os << "</td></tr>\n";
        }
        os << "</table>\n</section>\n";
    }
    os << "</body>\n</html>\n";
    return os.str();
}

// ---- running Graphviz ---------------------------------------------------------------------------

namespace {

// A temporary file removed when it goes out of scope.
struct TempFile {
    std::string path;
    explicit TempFile(const char* suffix) {
        std::string pattern = (std::filesystem::temp_directory_path() / "retrograd-explain-XXXXXX").string() + suffix;
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        const int fd = ::mkstemps(buffer.data(), static_cast<int>(std::strlen(suffix)));
        if (fd < 0)
            fail("explain_html: cannot create a temporary file in {}: {}",
                 std::filesystem::temp_directory_path().string(), std::strerror(errno));
        ::close(fd);
        path = buffer.data();
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

const char* const install_graphviz =
    "install Graphviz to see it (Debian/Ubuntu: sudo apt-get install graphviz; Fedora: sudo dnf install graphviz; "
    "macOS: brew install graphviz)";

std::string run_dot(const std::string& program, const std::string& dot_text, std::string& problem) {
    TempFile in(".dot"), out(".svg"), err(".txt");
    {
        std::ofstream f(in.path, std::ios::binary);
        f << dot_text;
        if (!f) fail("explain_html: cannot write {}", in.path);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in.path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.path.c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&actions, 2, err.path.c_str(), O_WRONLY | O_TRUNC, 0);
    std::string arg0 = program, arg1 = "-Tsvg";
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        problem = spawned == ENOENT ? fmt::format("The graph needs Graphviz's `{}` program, which was not found: {}.",
                                                  program, install_graphviz)
                                    : fmt::format("Could not run Graphviz's `{}` ({}): {}.", program,
                                                  std::strerror(spawned), install_graphviz);
        return "";
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string message = read_all(err.path);
        if (auto nl = message.find('\n'); nl != std::string::npos) message.erase(nl);
        problem =
            fmt::format("Graphviz's `{}` failed ({}){}", program,
                        WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status)) : "killed by a signal",
                        message.empty() ? "." : ": " + message);
        return "";
    }
    return read_all(out.path);
}

}  // namespace
}  // namespace rg
