// explain's page: the graph (Graphviz, the loss on top, each edge labelled
// with the gradient flowing back along it) beside the steps, with a step
// control that walks the backward pass one node at a time. One file, no
// external resource.
#include <retrograd/explain.hpp>

#include "explain_build.hpp"
#include "graph_labels.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

extern char** environ;

namespace rg {
namespace {

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

std::string anchor(const std::string& id) {
    std::string out = "step-" + id;
    for (char& c : out)
        if (c == '.') c = '-';
    return out;
}

// What the hover shows on an edge: the values of a small gradient, else its summary.
std::string hover(const std::string& name, const Tensor& g, std::size_t max_elements) {
    std::string values = detail::show_tensor(g, max_elements, 0);
    for (char& c : values)
        if (c == '\n') c = ' ';
    return name + " = " + values;
}

std::string run_dot(const std::string& program, const std::string& dot_text, std::string& problem);

}  // namespace

// The graph of the top-level steps: op and composite boxes, the tensor each
// makes, leaves and inputs; forward edges, each labelled with the gradient
// that flows back along it. Ids: "tape-<position>" for a step's node,
// "grad-<step>" for the edge that carries the gradient arriving at a step's
// tensor, "send-<step>-<k>" for the k-th gradient a step sends.
std::string explain_dot(const Explanation& ex) {
    std::ostringstream os;
    os << "digraph explain {\n  rankdir=BT;\n  nodesep=0.25;\n  ranksep=0.35;\n"
          "  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9, "
          "color=\"#555555\", fontcolor=\"#7a1f1f\", arrowsize=0.6];\n";
    std::map<std::size_t, const ExplainStep*> by_index;
    for (const ExplainStep& s : ex.steps) by_index[s.index] = &s;
    auto tensor_id = [](const ExplainStep& s) {
        return s.op == "accumulate_grad" ? fmt::format("tape-{}", s.tape_position) : fmt::format("tensor-{}", s.index);
    };
    for (const ExplainStep& s : ex.steps) {
        const std::string link = fmt::format("URL=\"#{}\", target=\"_self\", tooltip=\"step {}\"", anchor(s.id), s.id);
        if (s.op == "accumulate_grad") {
            os << fmt::format("  \"{}\" [id=\"{}\", shape=ellipse, style=filled, fillcolor=\"#e8e8e8\", "
                              "label=\"[{}] {}\\n{}\", {}];\n",
                              tensor_id(s), tensor_id(s), s.id, detail::dot_escape(s.leaf), shape_str(s.shape), link);
            continue;
        }
        const bool root = s.index == 0;
        os << fmt::format("  \"tape-{}\" [id=\"tape-{}\", shape=box, style=\"rounded,filled\", fillcolor=\"{}\", "
                          "label=\"[{}] {}\", {}];\n",
                          s.tape_position, s.tape_position, s.composite ? "#c9e4c5" : "lightblue", s.id,
                          detail::dot_escape(s.op), link);
        const std::string name =
            s.output.substr(root && s.output.find(' ') != std::string::npos ? s.output.find(' ') + 1 : 0);
        os << fmt::format("  \"{}\" [id=\"{}\", shape=ellipse, {}label=\"{}\\n{}\", {}];\n", tensor_id(s), tensor_id(s),
                          root ? "style=\"bold,filled\", fillcolor=\"mistyrose\", peripheries=2, " : "",
                          detail::dot_escape(root ? s.output : name), shape_str(s.shape), link);
        // The op makes its tensor; the gradient arriving at the tensor comes back along this edge.
        os << fmt::format("  \"tape-{}\" -> \"{}\" [id=\"grad-{}\", label=\" {}\\n {}\", tooltip=\"{}\"];\n",
                          s.tape_position, tensor_id(s), s.index, detail::dot_escape(s.grad_name),
                          detail::dot_escape(detail::shape_and_norm(s.grad_output)),
                          detail::dot_escape(hover(s.grad_name, s.grad_output, ex.max_elements)));
    }
    std::set<std::string> constants;
    for (const ExplainStep& s : ex.steps) {
        for (std::size_t k = 0; k < s.sends.size(); ++k) {
            const ExplainSend& send = s.sends[k];
            std::string from;
            if (send.to_step >= 0 && by_index.count(static_cast<std::size_t>(send.to_step))) {
                from = tensor_id(*by_index.at(static_cast<std::size_t>(send.to_step)));
            } else if (send.destination == "needs no gradient") {
                from = "input-" + send.input_name;
                if (constants.insert(from).second)
                    os << fmt::format("  \"{}\" [id=\"{}\", shape=ellipse, style=\"dashed,filled\", "
                                      "fillcolor=\"lightyellow\", label=\"{}\"];\n",
                                      detail::dot_escape(from), detail::dot_escape(from),
                                      detail::dot_escape(send.input_label));
            } else {
                continue;
            }
            const std::string label = send.grad.defined()
                                          ? fmt::format(" {}\\n {}", detail::dot_escape(send.grad_name),
                                                        detail::dot_escape(detail::shape_and_norm(send.grad)))
                                          : std::string();
            os << fmt::format("  \"{}\" -> \"tape-{}\" [id=\"send-{}-{}\"{}{}];\n", detail::dot_escape(from),
                              s.tape_position, s.index, k, label.empty() ? "" : ", label=\"" + label + "\"",
                              send.grad.defined()
                                  ? fmt::format(", tooltip=\"{}\"",
                                                detail::dot_escape(hover(send.grad_name, send.grad, ex.max_elements)))
                                  : std::string(", style=dashed"));
        }
    }
    os << "}\n";
    return os.str();
}

namespace {

void write_step(std::ostringstream& os, const ExplainStep& s, const Explanation& ex, bool has_graph, bool part) {
    os << "<section class=\"step" << (part ? " part" : "") << (s.composite ? " composite" : "") << "\" id=\""
       << anchor(s.id) << "\">\n<h3>";
    if (s.op == "accumulate_grad")
        os << html_escape(fmt::format("[{}] {} {}: its gradient", s.id, s.leaf, shape_str(s.shape)));
    else
        os << html_escape(fmt::format("[{}] {}", s.id, s.op)) << " <span class=\"fwd\">" << html_escape(s.forward)
           << "</span> <span class=\"shape\">" << shape_str(s.shape) << "</span>";
    if (!part)
        os << " <a class=\"up\" href=\"#"
           << (has_graph ? fmt::format("tape-{}", s.tape_position) : std::string("graph"))
           << "\" title=\"this node in the graph\">↑ graph</a>";
    os << "</h3>\n<table>\n";
    std::string from;
    for (const std::string& f : s.from_ids)
        from += fmt::format("{}<a href=\"#{}\">[{}]</a>", from.empty() ? "" : " + ", anchor(f), f);
    os << "<tr class=\"arrives\"><td class=\"name\">" << html_escape(s.grad_name) << "</td><td><pre>"
       << html_escape(detail::show_tensor(s.grad_output, ex.max_elements, 0)) << "</pre></td><td>"
       << (from.empty() ? "the seed" : (s.from_ids.size() == 1 ? "from " : "sum of ") + from) << "</td></tr>\n";
    os << "<tr><td class=\"name\">rule</td><td colspan=\"2\" class=\"rule\">" << html_escape(s.rule) << "</td></tr>\n";
    for (const ExplainSend& send : s.sends) {
        os << "<tr class=\"sends\"><td class=\"name\">" << html_escape(send.grad_name) << "</td>";
        if (!send.grad.defined()) {
            os << "<td colspan=\"2\">" << html_escape(send.input_label + ": " + send.destination) << "</td></tr>\n";
            continue;
        }
        os << "<td><pre>" << html_escape(detail::show_tensor(send.grad, ex.max_elements, 0)) << "</pre></td><td>→ ";
        if (!send.to_id.empty())
            os << "<a href=\"#" << anchor(send.to_id) << "\">" << html_escape(send.destination) << "</a>";
        else
            os << html_escape(send.destination);
        os << "</td></tr>\n";
    }
    os << "</table>\n";
    if (!s.parts.empty()) {
        os << "<details class=\"parts\"><summary>" << s.parts.size()
           << " primitive ops folded under this step</summary>\n";
        for (const ExplainStep& p : s.parts) write_step(os, p, ex, has_graph, true);
        os << "</details>\n";
    }
    os << "</section>\n";
}

const char* const page_style = R"(
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font-family: sans-serif; color: #222; display: flex; flex-direction: column; }
header { padding: 0.4em 1em; border-bottom: 1px solid #ccc; background: #fafafa; }
header h1 { font-size: 1.15em; margin: 0.1em 0; display: inline-block; margin-right: 1em; }
header p { margin: 0.2em 0; font-size: 0.85em; }
#controls { display: inline-block; }
#controls button { font-size: 0.95em; margin-right: 0.3em; }
#position { font-family: monospace; margin-left: 0.5em; }
main { flex: 1; display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 6fr); min-height: 0; }
#graph { overflow: auto; border-right: 1px solid #ccc; padding: 0.3em; }
#graph svg { width: 100%; height: auto; }
#graph a:hover polygon, #graph a:hover ellipse { stroke-width: 3; }
#graph g.current polygon, #graph g.current ellipse { stroke: #e6a700; stroke-width: 4; }
#graph g.arriving path, #graph g.arriving polygon { stroke: #c0392b; stroke-width: 3; }
#graph g.arriving text { fill: #c0392b; font-weight: bold; }
#graph g.sending path, #graph g.sending polygon { stroke: #1f6fb5; stroke-width: 3; }
#graph g.sending text { fill: #1f6fb5; font-weight: bold; }
#steps { overflow: auto; padding: 0 0.8em 40vh 0.8em; }
.step { border-left: 4px solid #9cc3e6; margin: 0.6em 0; padding: 0.2em 0.7em; }
.step.composite { border-left-color: #7fb77e; }
.step.current, .step:target { background: #fff6d5; border-left-color: #e6a700; }
.step h3 { margin: 0.2em 0; font-size: 1em; }
.fwd { font-family: monospace; font-weight: normal; color: #333; }
.shape { font-weight: normal; color: #777; font-size: 0.9em; }
.up { font-size: 0.8em; font-weight: normal; }
.rule { font-family: monospace; color: #064; }
.name { font-family: monospace; white-space: nowrap; }
pre { margin: 0.1em 0; white-space: pre-wrap; font-size: 0.85em; }
table { border-collapse: collapse; font-size: 0.9em; } td { vertical-align: top; padding: 0.05em 0.5em; }
details.parts { margin: 0.3em 0 0.3em 0.5em; } details.parts summary { cursor: pointer; color: #2d6a2c; }
.missing { background: #fde; padding: 0.5em; }
)";

// The step control: walks the top-level steps in backward order, highlighting
// the step's node, the edge bringing its gradient and the edges it sends along.
const char* const page_script = R"(
(function () {
  var data = JSON.parse(document.getElementById('walk').textContent);
  var at = -1;
  function mark(id, cls) { var e = document.getElementById(id); if (e) e.classList.add(cls); }
  function clear() {
    ['current', 'arriving', 'sending'].forEach(function (c) {
      Array.prototype.slice.call(document.querySelectorAll('.' + c)).forEach(function (e) { e.classList.remove(c); });
    });
  }
  function show(k, scroll) {
    if (k < 0 || k >= data.length) return;
    at = k;
    clear();
    var s = data[k];
    mark(s.node, 'current'); mark(s.tensor, 'current'); mark(s.step, 'current');
    s.arriving.forEach(function (id) { mark(id, 'arriving'); });
    s.sending.forEach(function (id) { mark(id, 'sending'); });
    document.getElementById('position').textContent = 'step ' + (k + 1) + ' of ' + data.length + ': [' + s.id + '] ' + s.op;
    if (scroll) {
      var step = document.getElementById(s.step), node = document.getElementById(s.node);
      if (step) step.scrollIntoView({block: 'nearest'});
      if (node) node.scrollIntoView({block: 'nearest', inline: 'nearest'});
    }
  }
  document.getElementById('prev').addEventListener('click', function () { show(Math.max(at - 1, 0), true); });
  document.getElementById('next').addEventListener('click', function () { show(Math.min(at + 1, data.length - 1), true); });
  document.getElementById('unfold').addEventListener('click', function () {
    var all = document.querySelectorAll('details.parts'), open = this.textContent.indexOf('Unfold') === 0;
    Array.prototype.slice.call(all).forEach(function (d) { d.open = open; });
    this.textContent = open ? 'Fold all' : 'Unfold all';
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight' || e.key === 'j') show(Math.min(at + 1, data.length - 1), true);
    if (e.key === 'ArrowLeft' || e.key === 'k') show(Math.max(at - 1, 0), true);
  });
  // A click on a node of the graph makes its step current and scrolls the
  // steps pane to it (the step's link to the graph scrolls back).
  data.forEach(function (s, k) {
    [s.node, s.tensor].forEach(function (id) {
      var e = document.getElementById(id);
      if (e) e.addEventListener('click', function () { show(k, true); });
    });
  });
  show(0, false);
})();
)";

}  // namespace

std::string explain_html(const Explanation& ex, const HtmlOptions& options) {
    std::string problem;
    std::string svg = run_dot(options.dot_program, ex.dot.empty() ? explain_dot(ex) : ex.dot, problem);
    if (const auto at = svg.find("<svg"); at != std::string::npos) svg.erase(0, at);
    const bool has_graph = problem.empty();
    const std::string title = options.title.empty() ? fmt::format("Backward pass from {}", ex.output) : options.title;
    std::ostringstream os;
    os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
       << html_escape(title) << "</title>\n<style>" << page_style << "</style>\n</head>\n<body>\n<header>\n<h1>"
       << html_escape(title) << "</h1>\n<span id=\"controls\"><button id=\"prev\" type=\"button\">◀ back</button>"
       << "<button id=\"next\" type=\"button\">next ▶</button><button id=\"unfold\" type=\"button\">Unfold all"
          "</button><span id=\"position\"></span></span>\n<p>"
       << ex.steps.size() << (ex.steps.size() == 1 ? " step" : " steps")
       << ", in the order the backward pass ran them. <code>dT</code> is the gradient of the loss with respect to "
          "<code>T</code>; each step receives it at the tensor its node made, applies the rule, and sends a gradient "
          "to each input. On the graph, each edge carries the gradient flowing back along it (shape and norm; hover "
          "for values). Click a node to go to its step; ◀ ▶ (or the arrow keys) walk the pass.</p>\n</header>\n"
          "<main>\n<div id=\"graph\">\n";
    if (has_graph)
        os << svg << "\n";
    else
        os << "<p class=\"missing\">" << html_escape(problem) << "</p>\n";
    os << "</div>\n<div id=\"steps\">\n";
    for (const ExplainStep& s : ex.steps) write_step(os, s, ex, has_graph, false);
    os << "</div>\n</main>\n";
    // The walk's data: per top-level step, its node, its tensor and its edges.
    std::vector<std::string> walk;
    for (const ExplainStep& s : ex.steps) {
        std::vector<std::string> arriving, sending;
        if (s.op != "accumulate_grad") arriving.push_back(fmt::format("\"grad-{}\"", s.index));
        for (const ExplainStep& other : ex.steps)
            for (std::size_t k = 0; k < other.sends.size(); ++k)
                if (other.sends[k].to_step == static_cast<long>(s.index))
                    arriving.push_back(fmt::format("\"send-{}-{}\"", other.index, k));
        for (std::size_t k = 0; k < s.sends.size(); ++k)
            if (s.sends[k].grad.defined()) sending.push_back(fmt::format("\"send-{}-{}\"", s.index, k));
        const std::string node = fmt::format("tape-{}", s.tape_position);
        const std::string tensor = s.op == "accumulate_grad" ? node : fmt::format("tensor-{}", s.index);
        walk.push_back(
            fmt::format("{{\"id\": \"{}\", \"op\": \"{}\", \"step\": \"{}\", \"node\": \"{}\", \"tensor\": \"{}\", "
                        "\"arriving\": [{}], \"sending\": [{}]}}",
                        s.id, html_escape(s.op), anchor(s.id), node, tensor, fmt::join(arriving, ", "),
                        fmt::join(sending, ", ")));
    }
    os << "<script type=\"application/json\" id=\"walk\">[" << fmt::format("{}", fmt::join(walk, ",\n"))
       << "]</script>\n<script>" << page_script << "</script>\n</body>\n</html>\n";
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
