#pragma once
// Anomaly mode's checks (rg::DetectAnomaly): NaN (and on request Inf) in a
// VJP's result, and on request in a forward result; each error names the op
// and, when an in-place op recorded it under another op's name, the op the
// user called.
#include <retrograd/autograd.hpp>

namespace rg::detail {

// Sets this thread's options; returns the previous ones.
AnomalyOptions swap_anomaly_options(AnomalyOptions options);
// In anomaly mode, a node was just recorded with this output: remembers the
// op the user called (see CallingOp) and checks the values when asked to.
void note_recorded(const Tensor& output, const std::shared_ptr<Node>& node);
// Checks a gradient `node`'s VJP returned.
void check_anomaly(const Tensor& t, const char* when, const Node& node);

// In its scope, the ops recorded on this thread are done on behalf of the
// public op `name` ("masked_fill_"), which anomaly errors name.
class CallingOp {
public:
    explicit CallingOp(const char* name);
    ~CallingOp();
    CallingOp(const CallingOp&) = delete;
    CallingOp& operator=(const CallingOp&) = delete;

private:
    const char* previous_;
};

}  // namespace rg::detail
