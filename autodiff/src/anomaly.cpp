// rg::DetectAnomaly's checks. The op the user called is remembered per node
// only in anomaly mode, in a table of weak references pruned as it grows.
#include "anomaly.hpp"

#include "kernels.hpp"

#include <cmath>
#include <map>

namespace rg::detail {
namespace {

struct AnomalyState {
    AnomalyOptions options;
    const char* calling = nullptr;
    std::map<const Node*, std::pair<std::weak_ptr<Node>, const char*>> called_as;
    std::size_t prune_at = 1024;
};

AnomalyState& state() {
    thread_local AnomalyState s;
    return s;
}

std::string called_as(const Node& node) {
    AnomalyState& s = state();
    auto it = s.called_as.find(&node);
    if (it == s.called_as.end() || it->second.first.lock().get() != &node) return "";
    return fmt::format(" (recorded for {})", it->second.second);
}

void check(const Tensor& t, const char* when, const Node& node) {
    if (!t.defined() || !t.is_floating()) return;
    const bool infinities = state().options.infinities;
    const auto values = t.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i) {
        const bool nan = std::isnan(values[i]);
        if (nan || (infinities && std::isinf(values[i])))
            fail("DetectAnomaly: the {} of '{}'{} produced {} at flat index {} (shape {})", when, node.op(),
                 called_as(node), nan ? "NaN" : "Inf", i, shape_str(t.shape()));
    }
}

}  // namespace

AnomalyOptions swap_anomaly_options(AnomalyOptions options) {
    std::swap(state().options, options);
    return options;
}

void note_recorded(const Tensor& output, const std::shared_ptr<Node>& node) {
    AnomalyState& s = state();
    if (s.calling) {
        if (s.called_as.size() >= s.prune_at) {
            std::erase_if(s.called_as, [](const auto& entry) { return entry.second.first.expired(); });
            s.prune_at = std::max<std::size_t>(1024, 2 * s.called_as.size());
        }
        s.called_as[node.get()] = {node, s.calling};
    }
    if (s.options.forward) check(output, "forward", *node);
}

void check_anomaly(const Tensor& t, const char* when, const Node& node) { check(t, when, node); }

CallingOp::CallingOp(const char* name) : previous_(state().calling) {
    if (!previous_) state().calling = name;  // the outermost public op is the one the user called
}
CallingOp::~CallingOp() { state().calling = previous_; }

}  // namespace rg::detail
