// oneDNN convolution and pooling primitives, cached by shape. A primitive
// costs from tens of microseconds to milliseconds to create (its code is
// generated for this CPU), so each shape's is made once and reused: after its
// first step a training loop creates none. The cache is bounded (least
// recently used out) and locked, and each call brings its own scratchpad, so
// threads may run the same primitive at once.
#include "onednn.hpp"

#include <retrograd/detail/conv_kernel.hpp>
#include <retrograd/threads.hpp>

#include "../kernels.hpp"
#include "bf16.hpp"
#include "threads.hpp"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>
#include <variant>

namespace rg::detail {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// One primitive with the layouts it wants: arguments whose layout is not
// retrograd's plain one are reordered into scratch buffers around it.
struct Plan {
    dnnl::primitive primitive;
    // Per argument slot (see the Slot enums): the layout the primitive
    // reads or writes, and the user's plain layout.
    struct Arg {
        int dnnl_arg = 0;
        memory::desc wanted, plain;
        bool output = false;
        // Between the two layouts when they differ (plain to wanted for an
        // input, back for an output), made with the plan (finish_plan).
        std::optional<dnnl::reorder> reorder;
        memory::desc reorder_scratchpad;
    };
    std::vector<Arg> args;
    memory::desc scratchpad;
    std::size_t workspace_bytes = 0;  // max pooling's: forward writes it, backward reads it
    bool one_thread = false;  // made and run on the calling thread alone (OneThread)
};

// For its lifetime, the calling thread's OpenMP regions (oneDNN's) run on
// that thread alone; the count it had is given back after.
class OneThread {
public:
    OneThread() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
    ~OneThread() { omp_set_num_threads(previous_); }
    OneThread(const OneThread&) = delete;
    OneThread& operator=(const OneThread&) = delete;

private:
    int previous_;
};

// For its lifetime, the calling thread runs `plan`'s primitive or reorders
// on the threads they were made for: rg::set_num_threads's count, or the
// calling thread alone for a plan made to run so (Plan::one_thread).
class PlanThreads {
public:
    explicit PlanThreads(const Plan& plan) {
        match_thread_count();
        if (plan.one_thread) alone_.emplace();
    }

private:
    std::optional<OneThread> alone_;
};

// Makes the reorders a plan's arguments need, so that running it creates no
// primitive. Each brings its own scratchpad, as the plan's primitive does,
// so that threads may run them at once. Null when oneDNN has no reorder for
// an argument.
std::shared_ptr<Plan> finish_plan(std::shared_ptr<Plan> plan, const dnnl::engine& engine) try {
    for (Plan::Arg& a : plan->args) {
        if (a.wanted == a.plain) continue;
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        const dnnl::reorder::primitive_desc pd =
            a.output ? dnnl::reorder::primitive_desc(engine, a.wanted, engine, a.plain, attr)
                     : dnnl::reorder::primitive_desc(engine, a.plain, engine, a.wanted, attr);
        a.reorder.emplace(pd);
        a.reorder_scratchpad = pd.scratchpad_desc();
    }
    return plan;
} catch (const dnnl::error&) {
    return nullptr;
}

enum class Kind : std::uint8_t {
    conv_forward,
    conv_forward_bias,
    conv_backward_data,
    conv_backward_weights,
    conv_backward_weights_bias,
    avg_pool_forward,
    avg_pool_backward,
    max_pool_forward,
    max_pool_backward,
    matmul_bf16
};

struct Key {
    Kind kind;
    std::variant<ConvSpec, PoolSpec, MatmulSpec> spec;
    bool bf16 = false;  // inputs rounded to bfloat16, float32 accumulation (rg::Autocast)
    // oneDNN splits a primitive's work for the thread count at its creation
    // and keeps that split: a primitive made on one thread runs on one after
    // rg::set_num_threads(2), one made on two runs on two after
    // set_num_threads(1). So each count has its own.
    int threads = get_num_threads();
    bool operator==(const Key&) const = default;
};

struct KeyHash {
    std::size_t operator()(const Key& k) const {
        std::size_t h = static_cast<std::size_t>(k.kind) * 2 + (k.bf16 ? 1 : 0);
        auto mix = [&h](std::int64_t v) { h = h * 1000003u ^ static_cast<std::size_t>(v); };
        mix(k.threads);
        if (const auto* c = std::get_if<ConvSpec>(&k.spec)) {
            for (std::int64_t v : {c->n, c->c, c->h, c->w, c->o, c->kh, c->kw, c->stride_h, c->stride_w, c->pad_h,
                                   c->pad_w, c->dilation_h, c->dilation_w, c->groups, std::int64_t{c->winograd}})
                mix(v);
        } else if (const auto* m = std::get_if<MatmulSpec>(&k.spec)) {
            for (std::int64_t v : {m->m, m->n, m->k, m->lda, m->ldb}) mix(v);
            mix(m->ta * 4 + m->tb * 2 + m->accumulate);
        } else {
            const auto& p = std::get<PoolSpec>(k.spec);
            for (std::int64_t v : {p.n, p.c, p.h, p.w, p.kh, p.kw, p.stride_h, p.stride_w, p.pad_h, p.pad_w}) mix(v);
        }
        return h;
    }
};

// Least recently used out. An entry may hold no plan: oneDNN had none for
// that shape, which is remembered too.
class PlanCache {
public:
    template <class Make> std::shared_ptr<const Plan> get(const Key& key, Make make) {
        {
            std::lock_guard lock(mutex_);
            if (auto it = index_.find(key); it != index_.end()) {
                order_.splice(order_.begin(), order_, it->second);
                return it->second->second;
            }
        }
        // Made outside the lock: creating a primitive can take milliseconds.
        // oneDNN reads the calling thread's OpenMP count, which the key's must be.
        match_thread_count();
        std::shared_ptr<const Plan> plan = make();
        made_.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mutex_);
        if (auto it = index_.find(key); it != index_.end()) return it->second->second;  // another thread's
        order_.emplace_front(key, plan);
        index_.emplace(key, order_.begin());
        if (order_.size() > onednn_cache_capacity) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
        return plan;
    }
    std::size_t size() {
        std::lock_guard lock(mutex_);
        return order_.size();
    }
    std::size_t made() const { return made_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::size_t> made_{0};
    std::mutex mutex_;
    std::list<std::pair<Key, std::shared_ptr<const Plan>>> order_;
    std::unordered_map<Key, decltype(order_)::iterator, KeyHash> index_;
};

PlanCache& cache() {
    static PlanCache instance;
    return instance;
}

memory::desc plain(const memory::dims& dims, Tag tag) { return {dims, memory::data_type::f32, tag}; }
memory::desc any(const memory::dims& dims, memory::data_type type = memory::data_type::f32) {
    return {dims, type, Tag::any};
}

memory::dims image_dims(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) { return {n, c, h, w}; }
memory::dims weight_dims(const ConvSpec& s) {
    if (s.groups == 1) return {s.o, s.c, s.kh, s.kw};
    return {s.groups, s.o / s.groups, s.c / s.groups, s.kh, s.kw};
}
Tag weight_tag(const ConvSpec& s) { return s.groups == 1 ? Tag::oihw : Tag::goihw; }

// oneDNN's right padding makes the output size come out exactly (it may be
// smaller than the left one, or negative, when the stride skips the last
// pixels); its dilation counts the gaps (0: adjacent taps).
memory::dims pad_left(const ConvSpec& s) { return {s.pad_h, s.pad_w}; }
memory::dims pad_right(const ConvSpec& s) {
    return {(s.oh - 1) * s.stride_h + (s.kh - 1) * s.dilation_h + 1 - s.h - s.pad_h,
            (s.ow - 1) * s.stride_w + (s.kw - 1) * s.dilation_w + 1 - s.w - s.pad_w};
}
memory::dims gaps(const ConvSpec& s) { return {s.dilation_h - 1, s.dilation_w - 1}; }
memory::dims strides(const ConvSpec& s) { return {s.stride_h, s.stride_w}; }

dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

// The type of the convolutions' read operands: bfloat16 under rg::Autocast.
// Results (outputs, input and weight gradients) stay float32.
memory::data_type read_type(bool bf16) { return bf16 ? memory::data_type::bf16 : memory::data_type::f32; }

// Winograd has float32 kernels only.
dnnl::algorithm conv_algorithm(const ConvSpec& s, bool bf16) {
    return s.winograd && !bf16 ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
}

dnnl::convolution_forward::primitive_desc conv_forward_desc(const ConvSpec& s, bool bias, bool bf16) {
    const memory::desc x = any(image_dims(s.n, s.c, s.h, s.w), read_type(bf16)),
                       w = any(weight_dims(s), read_type(bf16)), y = any(image_dims(s.n, s.o, s.oh, s.ow));
    const auto algorithm = conv_algorithm(s, bf16);
    const auto d =
        bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm, x, w, plain({s.o}, Tag::x),
                                               y, strides(s), gaps(s), pad_left(s), pad_right(s))
             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm, x, w, y, strides(s),
                                               gaps(s), pad_left(s), pad_right(s));
    return {d, user_scratchpad(), cpu_engine()};
}

std::shared_ptr<const Plan> make_conv_plan(Kind kind, const ConvSpec& s, bool bf16) {
    const memory::data_type read = read_type(bf16);
    const memory::desc x = plain(image_dims(s.n, s.c, s.h, s.w), Tag::nchw), w = plain(weight_dims(s), weight_tag(s)),
                       y = plain(image_dims(s.n, s.o, s.oh, s.ow), Tag::nchw);
    auto plan = std::make_shared<Plan>();
    try {
        if (kind == Kind::conv_forward || kind == Kind::conv_forward_bias) {
            const bool bias = kind == Kind::conv_forward_bias;
            const auto pd = conv_forward_desc(s, bias, bf16);
            plan->primitive = dnnl::convolution_forward(pd);
            plan->args = {{DNNL_ARG_SRC, pd.src_desc(), x}, {DNNL_ARG_WEIGHTS, pd.weights_desc(), w}};
            if (bias) plan->args.push_back({DNNL_ARG_BIAS, pd.bias_desc(), plain({s.o}, Tag::x)});
            plan->args.push_back({DNNL_ARG_DST, pd.dst_desc(), y, true});
            plan->scratchpad = pd.scratchpad_desc();
        } else if (kind == Kind::conv_backward_data) {
            const auto hint = conv_forward_desc(s, false, bf16);
            const dnnl::convolution_backward_data::desc d(conv_algorithm(s, bf16), any(image_dims(s.n, s.c, s.h, s.w)),
                                                          any(weight_dims(s), read),
                                                          any(image_dims(s.n, s.o, s.oh, s.ow), read), strides(s),
                                                          gaps(s), pad_left(s), pad_right(s));
            const dnnl::convolution_backward_data::primitive_desc pd(d, user_scratchpad(), cpu_engine(), hint);
            plan->primitive = dnnl::convolution_backward_data(pd);
            plan->args = {{DNNL_ARG_DIFF_DST, pd.diff_dst_desc(), y},
                          {DNNL_ARG_WEIGHTS, pd.weights_desc(), w},
                          {DNNL_ARG_DIFF_SRC, pd.diff_src_desc(), x, true}};
            plan->scratchpad = pd.scratchpad_desc();
        } else {
            // With the bias gradient too (conv_backward_weights_bias): the
            // weight-gradient kernels sum it while they read the output gradient.
            const bool bias = kind == Kind::conv_backward_weights_bias;
            const auto hint = conv_forward_desc(s, bias, bf16);
            const memory::desc src = any(image_dims(s.n, s.c, s.h, s.w), read), diff_w = any(weight_dims(s)),
                               diff_y = any(image_dims(s.n, s.o, s.oh, s.ow), read);
            const auto d =
                bias ? dnnl::convolution_backward_weights::desc(conv_algorithm(s, bf16), src, diff_w,
                                                                plain({s.o}, Tag::x), diff_y, strides(s), gaps(s),
                                                                pad_left(s), pad_right(s))
                     : dnnl::convolution_backward_weights::desc(conv_algorithm(s, bf16), src, diff_w, diff_y,
                                                                strides(s), gaps(s), pad_left(s), pad_right(s));
            const dnnl::convolution_backward_weights::primitive_desc pd(d, user_scratchpad(), cpu_engine(), hint);
            plan->primitive = dnnl::convolution_backward_weights(pd);
            plan->args = {{DNNL_ARG_DIFF_DST, pd.diff_dst_desc(), y},
                          {DNNL_ARG_SRC, pd.src_desc(), x},
                          {DNNL_ARG_DIFF_WEIGHTS, pd.diff_weights_desc(), w, true}};
            if (bias) plan->args.push_back({DNNL_ARG_DIFF_BIAS, pd.diff_bias_desc(), plain({s.o}, Tag::x), true});
            plan->scratchpad = pd.scratchpad_desc();
        }
    } catch (const dnnl::error&) {
        return nullptr;  // no oneDNN primitive for this shape: the caller computes it
    }
    return finish_plan(std::move(plan), cpu_engine());
}

// Below this many multiply-adds a bfloat16 product, with the conversions of
// its operands, runs on the calling thread alone: on two threads oneDNN's
// reorders took longer than on one, and a small product gained too little to
// pay for them. The limit lies between the largest product measured faster on
// one thread and the smallest measured faster on two (docs/performance.md,
// "Autocast (bfloat16)"; bench/autocast_bench.cpp measures both sides).
constexpr double bf16_matmul_one_thread_below = 1e8;

// op(A) op(B) (+ C) with bfloat16 operands: A and B are reordered from the
// user's float32 (strided: a transposed operand is read in place) into
// bfloat16, C is the user's row-major float32, accumulated by a sum post-op.
// B stays in the user's orientation: reordering it into the packed layout
// oneDNN would choose (BA16a64b2a) can take as long as a small product
// itself, where a plain conversion is one streaming pass (docs/performance.md,
// "Autocast (bfloat16)").
std::shared_ptr<const Plan> make_matmul_plan(const MatmulSpec& s) {
    const bool alone =
        static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k) < bf16_matmul_one_thread_below;
    std::optional<OneThread> one_thread;
    if (alone) one_thread.emplace();
    const memory::dims a_dims{s.m, s.k}, b_dims{s.k, s.n}, c_dims{s.m, s.n};
    const memory::desc a_plain(a_dims, memory::data_type::f32, s.ta ? memory::dims{1, s.lda} : memory::dims{s.lda, 1});
    const memory::desc b_plain(b_dims, memory::data_type::f32, s.tb ? memory::dims{1, s.ldb} : memory::dims{s.ldb, 1});
    const memory::desc c = plain(c_dims, Tag::ab);
    auto plan = std::make_shared<Plan>();
    try {
        dnnl::primitive_attr attr = user_scratchpad();
        if (s.accumulate) {
            dnnl::post_ops sum;
            sum.append_sum(1.0f);
            attr.set_post_ops(sum);
        }
        const dnnl::matmul::desc d(memory::desc(a_dims, memory::data_type::bf16, s.ta ? Tag::ba : Tag::ab),
                                   memory::desc(b_dims, memory::data_type::bf16, s.tb ? Tag::ba : Tag::ab), c);
        const dnnl::matmul::primitive_desc pd(d, attr, cpu_engine());
        plan->primitive = dnnl::matmul(pd);
        plan->args = {{DNNL_ARG_SRC, pd.src_desc(), a_plain},
                      {DNNL_ARG_WEIGHTS, pd.weights_desc(), b_plain},
                      {DNNL_ARG_DST, pd.dst_desc(), c, true}};
        plan->one_thread = alone;
        plan->scratchpad = pd.scratchpad_desc();
    } catch (const dnnl::error&) {
        return nullptr;  // no bfloat16 matmul on this CPU
    }
    return finish_plan(std::move(plan), cpu_engine());
}

std::shared_ptr<const Plan> make_pool_plan(Kind kind, const PoolSpec& s) {
    const memory::desc x = plain(image_dims(s.n, s.c, s.h, s.w), Tag::nchw),
                       y = plain(image_dims(s.n, s.c, s.oh, s.ow), Tag::nchw);
    const memory::dims stride{s.stride_h, s.stride_w}, kernel{s.kh, s.kw}, left{s.pad_h, s.pad_w},
        right{(s.oh - 1) * s.stride_h + s.kh - s.h - s.pad_h, (s.ow - 1) * s.stride_w + s.kw - s.w - s.pad_w};
    const bool is_max = kind == Kind::max_pool_forward || kind == Kind::max_pool_backward;
    // Max pooling's padding never wins (oneDNN pads with -inf), as PyTorch's.
    const auto algorithm = is_max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_include_padding;
    auto plan = std::make_shared<Plan>();
    try {
        const dnnl::pooling_forward::desc fd(dnnl::prop_kind::forward_training, algorithm, x, y, stride, kernel, left,
                                             right);
        const dnnl::pooling_forward::primitive_desc fpd(fd, user_scratchpad(), cpu_engine());
        // The workspace (where each window's maximum is, in oneDNN's own
        // format) passes from the forward to the backward in the caller's buffer.
        const memory::desc workspace = is_max ? fpd.workspace_desc() : memory::desc();
        plan->workspace_bytes = workspace.get_size();
        if (kind == Kind::avg_pool_forward || kind == Kind::max_pool_forward) {
            plan->primitive = dnnl::pooling_forward(fpd);
            plan->args = {{DNNL_ARG_SRC, fpd.src_desc(), x}, {DNNL_ARG_DST, fpd.dst_desc(), y, true}};
            if (is_max) plan->args.push_back({DNNL_ARG_WORKSPACE, workspace, workspace, true});
            plan->scratchpad = fpd.scratchpad_desc();
        } else {
            const dnnl::pooling_backward::desc bd(algorithm, x, y, stride, kernel, left, right);
            const dnnl::pooling_backward::primitive_desc bpd(bd, user_scratchpad(), cpu_engine(), fpd);
            plan->primitive = dnnl::pooling_backward(bpd);
            plan->args = {{DNNL_ARG_DIFF_DST, bpd.diff_dst_desc(), y}};
            if (is_max) plan->args.push_back({DNNL_ARG_WORKSPACE, workspace, workspace});
            plan->args.push_back({DNNL_ARG_DIFF_SRC, bpd.diff_src_desc(), x, true});
            plan->scratchpad = bpd.scratchpad_desc();
        }
    } catch (const dnnl::error&) {
        return nullptr;
    }
    return finish_plan(std::move(plan), cpu_engine());
}

// Runs `plan` over plain buffers, one per argument in the plan's order:
// inputs in another layout are reordered into scratch buffers first, outputs
// back after. Scratch memory comes from retrograd's caching allocator.
// An input argument already reordered into the layout a plan wants, which
// execute takes instead of the user's buffer (one reorder shared by two plans).
struct Reordered {
    int dnnl_arg;
    memory value;
};
using GivenArgs = std::span<const Reordered>;

// This thread's stream on the CPU engine.
dnnl::stream& thread_stream() {
    thread_local dnnl::stream stream(cpu_engine());
    return stream;
}

// A buffer for `d` from retrograd's caching allocator, which `held` keeps.
float* scratch(const memory::desc& d, std::vector<Tensor>& held) {
    held.push_back(empty_dense<float>(Shape{d.get_size() / sizeof(float) + 1}, "oneDNN"));
    return held.back().data_ptr<float>();
}

// Runs argument a's reorder from `from` to `to`, its scratchpad kept by `held`.
void reorder(const Plan::Arg& a, const memory& from, const memory& to, std::vector<Tensor>& held) {
    std::unordered_map<int, memory> args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    if (a.reorder_scratchpad.get_size() > 0)
        args.emplace(DNNL_ARG_SCRATCHPAD,
                     memory(a.reorder_scratchpad, cpu_engine(), scratch(a.reorder_scratchpad, held)));
    a.reorder->execute(thread_stream(), args);
}

void execute(const Plan& plan, std::initializer_list<void*> buffers, GivenArgs given = {}) {
    const PlanThreads threads(plan);
    dnnl::engine& engine = cpu_engine();
    std::vector<Tensor> held;
    std::unordered_map<int, memory> args;
    std::vector<std::tuple<const Plan::Arg*, memory, memory>> write_back;
    auto buffer = buffers.begin();
    for (const Plan::Arg& a : plan.args) {
        memory user(a.plain, engine, *buffer++);
        const auto taken = std::find_if(given.begin(), given.end(), [&](const Reordered& r) {
            return r.dnnl_arg == a.dnnl_arg && r.value.get_desc() == a.wanted;
        });
        if (taken != given.end()) {
            args.emplace(a.dnnl_arg, taken->value);
            continue;
        }
        if (!a.reorder) {
            args.emplace(a.dnnl_arg, user);
            continue;
        }
        memory inner(a.wanted, engine, scratch(a.wanted, held));
        if (a.output)
            write_back.emplace_back(&a, inner, user);
        else
            reorder(a, user, inner, held);
        args.emplace(a.dnnl_arg, inner);
    }
    if (plan.scratchpad.get_size() > 0)
        args.emplace(DNNL_ARG_SCRATCHPAD, memory(plan.scratchpad, engine, scratch(plan.scratchpad, held)));
    plan.primitive.execute(thread_stream(), args);
    for (auto& [a, inner, user] : write_back) reorder(*a, inner, user, held);
    thread_stream().wait();
}

// Input argument `dnnl_arg` of `plan` from the user's plain buffer, in the
// layout the plan wants: reordered into a buffer that `held` keeps, or
// nothing when the plan reads the user's layout itself.
std::optional<Reordered> reordered_input(const Plan& plan, int dnnl_arg, const void* user, std::vector<Tensor>& held) {
    for (const Plan::Arg& a : plan.args) {
        if (a.dnnl_arg != dnnl_arg || a.output || !a.reorder) continue;
        const PlanThreads threads(plan);
        memory inner(a.wanted, cpu_engine(), scratch(a.wanted, held));
        reorder(a, memory(a.plain, cpu_engine(), const_cast<void*>(user)), inner, held);
        thread_stream().wait();
        return Reordered{dnnl_arg, inner};
    }
    return std::nullopt;
}

// The channel block of a layout that stores (N, C, H, W) as
// (N, ceil(C / block), H, W, block), oneDNN's aBcd8b and aBcd16b, in float32
// or bfloat16; 0 for any other.
std::int64_t channel_block(const memory::desc& d) {
    const memory::data_type type = d.data_type();
    if (d.dims().size() != 4 || (type != memory::data_type::f32 && type != memory::data_type::bf16)) return 0;
    if (d == memory::desc(d.dims(), type, Tag::aBcd16b)) return 16;
    if (d == memory::desc(d.dims(), type, Tag::aBcd8b)) return 8;
    return 0;
}

// The layout a plan wants for argument `dnnl_arg`, if the plan has one.
std::optional<memory::desc> wanted(const Plan& plan, int dnnl_arg) {
    for (const Plan::Arg& a : plan.args)
        if (a.dnnl_arg == dnnl_arg) return a.wanted;
    return std::nullopt;
}

const char* op_name(Kind kind) {
    switch (kind) {
        case Kind::conv_forward:
        case Kind::conv_forward_bias: return "conv2d";
        case Kind::conv_backward_data: return "conv2d_input_grad";
        case Kind::conv_backward_weights:
        case Kind::conv_backward_weights_bias: return "conv2d_weight_grad";
        case Kind::avg_pool_forward: return "avg_pool2d";
        case Kind::avg_pool_backward: return "avg_pool2d_backward";
        case Kind::max_pool_forward:
        case Kind::max_pool_backward: return "max_pool2d";
        case Kind::matmul_bf16: return "matmul";
    }
    return "oneDNN";
}

// A failure while running (out of memory, most likely) is an rg::Error naming the op.
void run(Kind kind, const Plan& plan, std::initializer_list<void*> buffers, GivenArgs given = {}) {
    try {
        execute(plan, buffers, given);
    } catch (const dnnl::error& e) {
        fail("{}: oneDNN failed: {} (status {})", op_name(kind), e.what(), static_cast<int>(e.status));
    }
}

// The float32 plan of a convolution pass, from the cache.
std::shared_ptr<const Plan> conv_plan(Kind kind, const ConvSpec& s) {
    return cache().get(Key{kind, s}, [&] { return make_conv_plan(kind, s, false); });
}

// The plan of a convolution pass for the calling thread's products: float32,
// or bfloat16 under rg::Autocast's native kernel; none under its rounded
// kernel, whose callers round the operands and run the float32 plans.
std::shared_ptr<const Plan> products_conv_plan(Kind kind, const ConvSpec& s) {
    switch (product_mode()) {
        case ProductMode::float32: return conv_plan(kind, s);
        case ProductMode::native: return cache().get(Key{kind, s, true}, [&] { return make_conv_plan(kind, s, true); });
        case ProductMode::rounded: return nullptr;
    }
    return nullptr;
}

// conv.cpp rounds the operands first under rg::Autocast's rounded kernel
// (RoundedOperands), so they arrive here as float32 products; anyone else's
// go through the caller's products.
bool run_conv(Kind kind, const ConvSpec& s, std::initializer_list<void*> buffers) {
    const auto plan = products_conv_plan(kind, s);
    if (!plan) {
        if (product_mode() == ProductMode::native) bf16_unavailable(op_name(kind));
        return false;  // the caller's im2col + GEMM, whose products are autocast
    }
    run(kind, *plan, buffers);
    return true;
}

std::shared_ptr<const Plan> pool_plan(Kind kind, const PoolSpec& s) {
    return cache().get(Key{kind, s}, [&] { return make_pool_plan(kind, s); });
}

bool run_pool(Kind kind, const PoolSpec& s, std::initializer_list<void*> buffers) {
    const auto plan = pool_plan(kind, s);
    if (!plan) return false;
    run(kind, *plan, buffers);
    return true;
}

void* in(const float* p) { return const_cast<float*>(p); }  // oneDNN's memory takes void*; inputs are only read

}  // namespace

bool onednn_conv_forward(const ConvSpec& s, const float* x, const float* weight, const float* bias, float* y) {
    if (bias) return run_conv(Kind::conv_forward_bias, s, {in(x), in(weight), in(bias), y});
    return run_conv(Kind::conv_forward, s, {in(x), in(weight), y});
}
bool onednn_conv_backward_data(const ConvSpec& s, const float* grad, const float* weight, float* dx) {
    return run_conv(Kind::conv_backward_data, s, {in(grad), in(weight), dx});
}
bool onednn_conv_backward_weights(const ConvSpec& s, const float* grad, const float* x, float* dweight) {
    return run_conv(Kind::conv_backward_weights, s, {in(grad), in(x), dweight});
}
namespace {

std::shared_ptr<const Plan> forward_plan(const ConvSpec& s, bool bias) {
    return products_conv_plan(bias ? Kind::conv_forward_bias : Kind::conv_forward, s);
}

// The channel block of the layout `plan` wants for `dnnl_arg` (0: none, not blocked).
std::int64_t block_of(const std::shared_ptr<const Plan>& plan, int dnnl_arg) {
    const auto d = plan ? wanted(*plan, dnnl_arg) : std::nullopt;
    return d ? channel_block(*d) : 0;
}

}  // namespace

std::int64_t onednn_conv_forward_block(const ConvSpec& s, bool bias) {
    return block_of(forward_plan(s, bias), DNNL_ARG_DST);
}

struct ConvInputCopy {
    memory value;
    std::vector<Tensor> held;  // its buffer
};

bool onednn_conv_forward_blocked(const ConvSpec& s, const float* x, const float* weight, const float* bias,
                                 float* y_blocked, std::shared_ptr<const ConvInputCopy>* keep_input) {
    const auto plan = forward_plan(s, bias != nullptr);
    if (block_of(plan, DNNL_ARG_DST) == 0) return false;
    std::vector<Reordered> given{{DNNL_ARG_DST, memory(*wanted(*plan, DNNL_ARG_DST), cpu_engine(), y_blocked)}};
    auto copy = std::make_shared<ConvInputCopy>();
    if (keep_input) {
        try {
            if (auto input = reordered_input(*plan, DNNL_ARG_SRC, x, copy->held)) {
                given.push_back(*input);
                copy->value = input->value;
            }
        } catch (const dnnl::error& e) {
            fail("conv2d: oneDNN failed: {} (status {})", e.what(), static_cast<int>(e.status));
        }
    }
    if (bias)
        run(Kind::conv_forward_bias, *plan, {in(x), in(weight), in(bias), y_blocked}, given);
    else
        run(Kind::conv_forward, *plan, {in(x), in(weight), y_blocked}, given);
    if (keep_input && !copy->held.empty()) *keep_input = std::move(copy);
    return true;
}

std::int64_t onednn_conv_backward_block(const ConvSpec& data_spec, const ConvSpec& weights_spec, bool data,
                                        bool weights) {
    if (!data && !weights) return 0;
    std::optional<memory::desc> layout;
    for (auto [on, kind, spec] : {std::tuple{data, Kind::conv_backward_data, &data_spec},
                                  std::tuple{weights, Kind::conv_backward_weights, &weights_spec}}) {
        if (!on) continue;
        const auto plan = products_conv_plan(kind, *spec);
        const auto d = plan ? wanted(*plan, DNNL_ARG_DIFF_DST) : std::nullopt;
        if (!d || (layout && *layout != *d)) return 0;
        layout = d;
    }
    return channel_block(*layout);
}

bool onednn_conv_backward(const ConvSpec& data_spec, const ConvSpec& weights_spec, const void* grad,
                          const float* weight, const float* x, float* dx, float* dweight, float* dbias,
                          std::int64_t grad_block, const ConvInputCopy* input) {
    if ((!dx && !dweight) || (dbias && !dweight)) return false;
    const Kind weights_kind = dbias ? Kind::conv_backward_weights_bias : Kind::conv_backward_weights;
    std::shared_ptr<const Plan> data_plan, weights_plan;
    if (dx) data_plan = products_conv_plan(Kind::conv_backward_data, data_spec);
    if (dweight) weights_plan = products_conv_plan(weights_kind, weights_spec);
    if ((dx && !data_plan) || (dweight && !weights_plan)) return false;
    // The output gradient reordered once when both passes read it in the same
    // layout, or given in the layout and type they read.
    std::vector<Tensor> held;
    std::optional<Reordered> shared;
    if (grad_block != 0) {
        const memory::desc read(image_dims(data_spec.n, data_spec.o, data_spec.oh, data_spec.ow),
                                read_type(product_mode() == ProductMode::native),
                                grad_block == 16 ? Tag::aBcd16b : Tag::aBcd8b);
        for (const auto& plan : {data_plan, weights_plan})
            if (plan && wanted(*plan, DNNL_ARG_DIFF_DST) != read) return false;
        shared = Reordered{DNNL_ARG_DIFF_DST, memory(read, cpu_engine(), const_cast<void*>(grad))};
    } else if (data_plan && weights_plan) {
        try {
            shared = reordered_input(*data_plan, DNNL_ARG_DIFF_DST, grad, held);
        } catch (const dnnl::error& e) {
            fail("conv2d_input_grad: oneDNN failed: {} (status {})", e.what(), static_cast<int>(e.status));
        }
    }
    std::vector<Reordered> given;
    if (shared) given.push_back(*shared);
    void* g = const_cast<void*>(grad);
    if (data_plan) run(Kind::conv_backward_data, *data_plan, {g, in(weight), dx}, given);
    if (weights_plan) {
        // The input as the forward pass read it, when this pass reads the same.
        if (input) given.push_back({DNNL_ARG_SRC, input->value});
        if (dbias)
            run(weights_kind, *weights_plan, {g, in(x), dweight, dbias}, given);
        else
            run(weights_kind, *weights_plan, {g, in(x), dweight}, given);
    }
    return true;
}
bool onednn_avg_pool_forward(const PoolSpec& s, const float* x, float* y) {
    return run_pool(Kind::avg_pool_forward, s, {in(x), y});
}
bool onednn_avg_pool_backward(const PoolSpec& s, const float* grad, float* dx) {
    return run_pool(Kind::avg_pool_backward, s, {in(grad), dx});
}
std::optional<std::size_t> onednn_max_pool_workspace_bytes(const PoolSpec& s) {
    const auto plan = pool_plan(Kind::max_pool_forward, s);
    if (!plan || !pool_plan(Kind::max_pool_backward, s)) return std::nullopt;
    return plan->workspace_bytes;
}
bool onednn_max_pool_forward(const PoolSpec& s, const float* x, float* y, void* workspace) {
    return run_pool(Kind::max_pool_forward, s, {in(x), y, workspace});
}
bool onednn_max_pool_backward(const PoolSpec& s, const float* grad, const void* workspace, float* dx) {
    return run_pool(Kind::max_pool_backward, s, {in(grad), const_cast<void*>(workspace), dx});
}
class Bf16Images {
public:
    // The packed image of the rows x cols matrix stored at `data`, ld apart.
    struct Image {
        const void* data;
        std::int64_t rows, cols, ld;
        Tensor image;
    };
    const Image* find(const void* data, std::int64_t rows, std::int64_t cols, std::int64_t ld) const {
        for (const Image& i : images_)
            if (i.data == data && i.rows == rows && i.cols == cols && i.ld == ld) return &i;
        return nullptr;
    }
    void add(Image image) { images_.push_back(std::move(image)); }

private:
    std::vector<Image> images_;
};

namespace {
struct ActiveImages {
    Bf16Images* images = nullptr;
    std::vector<const void*> allowed;
};
thread_local ActiveImages active_images;
}  // namespace

std::shared_ptr<Bf16Images> bf16_images(const Bf16Images* seed) {
    return seed ? std::make_shared<Bf16Images>(*seed) : std::make_shared<Bf16Images>();
}

Bf16ImageScope::Bf16ImageScope(Bf16Images* images, std::initializer_list<const void*> allowed)
    : previous_images_(active_images.images), previous_allowed_(std::move(active_images.allowed)) {
    active_images.images = images;
    active_images.allowed.assign(allowed.begin(), allowed.end());
}
Bf16ImageScope::~Bf16ImageScope() {
    active_images.images = previous_images_;
    active_images.allowed = std::move(previous_allowed_);
}

bool onednn_matmul_bf16(const MatmulSpec& s, const float* a, const float* b, float* c) {
    const auto plan = cache().get(Key{Kind::matmul_bf16, s, true}, [&] { return make_matmul_plan(s); });
    if (!plan) return false;
    Bf16Images* images = active_images.images;
    if (!images) {
        run(Kind::matmul_bf16, *plan, {in(a), in(b), c});
        return true;
    }
    // Each operand from the images, or converted and kept there when allowed.
    std::vector<Tensor> held;
    std::vector<Reordered> given;
    try {
        const std::tuple<int, const float*, std::int64_t, std::int64_t, std::int64_t> operands[] =
            {{DNNL_ARG_SRC, a, s.ta ? s.k : s.m, s.ta ? s.m : s.k, s.lda},
             {DNNL_ARG_WEIGHTS, b, s.tb ? s.n : s.k, s.tb ? s.k : s.n, s.ldb}};
        for (const auto& [arg, data, rows, cols, ld] : operands) {
            const memory::desc layout = *wanted(*plan, arg);
            if (const Bf16Images::Image* kept = images->find(data, rows, cols, ld)) {
                given.push_back({arg, memory(layout, cpu_engine(), kept->image.data_ptr())});
                continue;
            }
            const auto& allowed = active_images.allowed;
            if (std::find(allowed.begin(), allowed.end(), data) == allowed.end()) continue;
            const std::size_t first = held.size();
            if (auto converted = reordered_input(*plan, arg, data, held)) {
                given.push_back(*converted);
                images->add({data, rows, cols, ld, held[first]});
            }
        }
    } catch (const dnnl::error& e) {
        fail("matmul: oneDNN failed: {} (status {})", e.what(), static_cast<int>(e.status));
    }
    run(Kind::matmul_bf16, *plan, {in(a), in(b), c}, given);
    return true;
}
std::size_t onednn_cached_primitives() { return cache().size(); }
std::size_t onednn_primitives_made() { return cache().made(); }

namespace {
// oneDNN 2's ISA values are bit sets, each holding the bits of the ones it extends.
bool isa_includes(dnnl_cpu_isa_t wanted) {
    const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
    const auto bits = static_cast<unsigned>(wanted);
    return (isa & bits) == bits;
}
}  // namespace

bool onednn_avx512() { return isa_includes(dnnl_cpu_isa_avx512_core); }
bool onednn_avx2() { return isa_includes(dnnl_cpu_isa_avx2); }
bool onednn_avx512_bf16() { return isa_includes(dnnl_cpu_isa_avx512_core_bf16); }

}  // namespace rg::detail
