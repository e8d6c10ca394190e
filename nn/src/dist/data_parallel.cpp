// DataParallel: replicas kept equal by averaging gradients in buckets that
// are reduced while backward runs (the scheme of PyTorch's c10d Reducer).
#include "mpi.hpp"

#include <retrograd/dist/collectives.hpp>
#include <retrograd/dist/data_parallel.hpp>
#include <retrograd/ops.hpp>

#include <chrono>
#include <cstring>
#include <unordered_set>

namespace rg::dist {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::int64_t name_hash(const std::string& name) {  // FNV-1a: names compared without sending them
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    return static_cast<std::int64_t>(h >> 1);
}

constexpr std::size_t max_dims = 8;
constexpr std::size_t descriptor_size = 4 + max_dims;  // kind, name hash, dtype, rank, sizes

std::string shape_of(const std::int64_t* d) {
    Shape shape;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(d[3], max_dims); ++i)
        shape.push_back(static_cast<std::size_t>(d[4 + i]));
    return fmt::format("{} {}", shape_str(shape), dtype_name(static_cast<Dtype>(d[2])));
}

// Every rank checks that its model has rank 0's parameters and buffers, in
// the same order with the same names, shapes and dtypes; all fail alike otherwise.
void check_same_model(const nn::NamedTensors& params, const nn::NamedTensors& buffers) {
    const char* caller = "rg::dist::DataParallel";
    const int me = detail::rank_or_zero();
    Tensor counts = from_indices({static_cast<std::int64_t>(params.size()), static_cast<std::int64_t>(buffers.size())});
    const TensorList all_counts = all_gather(counts);
    for (std::size_t r = 1; r < all_counts.size(); ++r)
        if (all_counts[r].to_vector() != all_counts[0].to_vector()) {
            const auto a = all_counts[0].to_vector(), b = all_counts[r].to_vector();
            fail("{} (rank {}): rank 0's model has {} parameters and {} buffers but rank {}'s has {} and {}; every "
                 "rank must build the same model",
                 caller, me, a[0], a[1], r, b[0], b[1]);
        }
    std::vector<std::int64_t> mine;
    std::vector<std::string> names;
    auto add = [&](const nn::NamedTensors& list, std::int64_t kind) {
        for (const auto& entry : list) {
            const Tensor& t = entry.second;
            std::int64_t d[descriptor_size] = {kind, name_hash(entry.first), static_cast<std::int64_t>(t.dtype()),
                                               static_cast<std::int64_t>(t.dim())};
            for (std::size_t i = 0; i < t.dim(); ++i) {
                const std::size_t slot = std::min(i, max_dims - 1);
                const auto size = static_cast<std::int64_t>(t.shape()[i]);
                d[4 + slot] = i < max_dims ? size : d[4 + slot] * size;
            }
            mine.insert(mine.end(), d, d + descriptor_size);
            names.push_back(entry.first);
        }
    };
    add(params, 1);
    add(buffers, 2);
    if (names.empty()) return;
    const TensorList all = all_gather(from_indices(mine, Shape{names.size(), descriptor_size}));
    const auto first = all[0].to_vector();
    for (std::size_t r = 1; r < all.size(); ++r) {
        const auto other = all[r].to_vector();
        for (std::size_t k = 0; k < names.size(); ++k) {
            std::int64_t a[descriptor_size], b[descriptor_size];
            for (std::size_t i = 0; i < descriptor_size; ++i) {
                a[i] = static_cast<std::int64_t>(first[k * descriptor_size + i]);
                b[i] = static_cast<std::int64_t>(other[k * descriptor_size + i]);
            }
            if (std::equal(a, a + descriptor_size, b)) continue;
            const char* what = k < params.size() ? "parameter" : "buffer";
            if (a[1] != b[1])
                fail("{} (rank {}): {} {} is named differently on rank 0 and rank {} (here: '{}'); every rank must "
                     "build the same model",
                     caller, me, what, k, r, names[k]);
            fail("{} (rank {}): {} '{}' is {} on rank 0 but {} on rank {}; every rank must build the same model",
                 caller, me, what, names[k], shape_of(a), shape_of(b), r);
        }
    }
}

}  // namespace

// The state the gradient hooks share; they hold it weakly, so that hooks left
// on the parameters after the DataParallel is gone do nothing.
class Reducer {
public:
    struct Slot {
        Tensor param;
        std::string name;
        std::size_t bucket = 0, offset = 0;
        bool ready = false;
    };
    struct Bucket {
        Dtype dtype = Dtype::float32;
        std::vector<std::size_t> slots;
        std::size_t numel = 0, pending = 0;
        Tensor flat;  // the gradients side by side; summed over the ranks in place
        MPI_Request request = MPI_REQUEST_NULL;
    };

    Reducer(const nn::NamedTensors& params, const DataParallelOptions& options) {
        std::unordered_set<TensorImpl*> seen;
        // Reverse registration order: the last layers' gradients are ready first.
        for (auto it = params.rbegin(); it != params.rend(); ++it) {
            const Tensor& p = it->second;
            if (!p.requires_grad() || !seen.insert(p.impl()).second) continue;
            slots.push_back({p, it->first});
        }
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            const Tensor& p = slots[i].param;
            const std::size_t limit = buckets.size() <= 1 ? options.first_bucket_bytes : options.bucket_bytes;
            if (buckets.empty() || buckets.back().dtype != p.dtype() ||
                (bytes >= limit && !buckets.back().slots.empty())) {
                buckets.push_back({});
                buckets.back().dtype = p.dtype();
                bytes = 0;
            }
            Bucket& b = buckets.back();
            slots[i].bucket = buckets.size() - 1;
            slots[i].offset = b.numel;
            b.slots.push_back(i);
            b.numel += p.numel();
            bytes += p.numel() * detail::element_size(p.dtype());
        }
        for (Bucket& b : buckets) {
            b.flat = zeros({b.numel}, {b.dtype});
            b.pending = b.slots.size();
        }
    }

    ~Reducer() {
        if (!in_iteration || next_launch == 0) return;
        try {
            wait_launched();
        } catch (const std::exception&) {
            // MPI may still write into the buffers: keep them alive for good.
            for (Bucket& b : buckets) new Tensor(b.flat);
        }
    }

    void mark_ready(std::size_t index) {
        if (!sync_enabled) return;
        Slot& s = slots[index];
        const char* caller = "rg::dist::DataParallel";
        if (s.ready)
            fail("{} (rank {}): parameter '{}' received a second gradient before the first was averaged; call "
                 "synchronize() between backward passes, or accumulate them inside no_sync()",
                 caller, detail::rank_or_zero(), s.name);
        in_iteration = true;
        const auto start = Clock::now();
        copy_in(s);
        stats.copy_seconds += since(start);
        s.ready = true;
        --buckets[s.bucket].pending;
        launch_ready();
        if (next_launch == buckets.size()) {
            finish();
        } else {  // let MPI move the started sums forward while backward goes on
            for (std::size_t b = 0; b < next_launch; ++b)
                if (buckets[b].request != MPI_REQUEST_NULL) detail::test(&buckets[b].request, 1, caller);
        }
    }

    // The gradients of parameters that backward did not reach count as they are (zeros if none).
    void synchronize() {
        if (!in_iteration) return;
        const auto start = Clock::now();
        for (Slot& s : slots)
            if (!s.ready) {
                copy_in(s);
                s.ready = true;
                --buckets[s.bucket].pending;
            }
        stats.copy_seconds += since(start);
        launch_ready();
        finish();
    }

    std::vector<Slot> slots;
    std::vector<Bucket> buckets;
    std::size_t next_launch = 0;  // buckets start in index order on every rank, so the collectives match
    bool in_iteration = false;
    bool sync_enabled = true;
    ReducerStats stats;

private:
    void copy_in(const Slot& s) {
        Bucket& b = buckets[s.bucket];
        const Tensor grad = s.param.grad();
        const std::size_t size = detail::element_size(b.dtype), n = s.param.numel();
        detail::with_contiguous_values(b.flat, true, [&](void* flat) {
            char* dst = static_cast<char*>(flat) + s.offset * size;
            if (!grad.defined()) {
                std::memset(dst, 0, n * size);
                return;
            }
            if (grad.dtype() != b.dtype || grad.numel() != n)
                fail("rg::dist::DataParallel (rank {}): parameter '{}' now has a {} {} gradient, but it was {} {} when "
                     "the DataParallel was built; convert the model before wrapping it",
                     detail::rank_or_zero(), s.name, shape_str(grad.shape()), dtype_name(grad.dtype()),
                     shape_str(s.param.shape()), dtype_name(b.dtype));
            detail::with_contiguous_values(grad, false, [&](void* g) { std::memcpy(dst, g, n * size); });
        });
    }

    void launch_ready() {
        const char* caller = "rg::dist::DataParallel";
        while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
            Bucket& b = buckets[next_launch];
            MPI_Comm comm = detail::comm(caller);
            detail::with_contiguous_values(b.flat, true, [&](void* flat) {
                detail::check(MPI_Iallreduce(MPI_IN_PLACE, flat, static_cast<int>(b.numel), detail::mpi_type(b.dtype),
                                             MPI_SUM, comm, &b.request),
                              caller);
            });
            ++next_launch;
        }
    }

    void wait_launched() {
        std::vector<MPI_Request> requests;
        for (std::size_t b = 0; b < next_launch; ++b) requests.push_back(buckets[b].request);
        stats.wait_seconds +=
            detail::wait(requests.data(), static_cast<int>(requests.size()), "rg::dist::DataParallel");
        for (Bucket& b : buckets) b.request = MPI_REQUEST_NULL;
    }

    // Waits for every bucket's sum, then writes sum / world_size into each .grad.
    void finish() {
        wait_launched();
        const auto start = Clock::now();
        const double scale = 1.0 / detail::size_or_one();
        for (Slot& s : slots) {
            Bucket& b = buckets[s.bucket];
            Tensor grad = s.param.grad();
            if (!grad.defined()) {
                grad = zeros_like(s.param);
                s.param.set_grad(grad);
            }
            const std::size_t n = s.param.numel();
            detail::with_contiguous_values(b.flat, false, [&](void* flat) {
                detail::with_contiguous_values(grad, true, [&](void* g) {
                    if (b.dtype == Dtype::float32) {
                        const float* src = static_cast<const float*>(flat) + s.offset;
                        float* dst = static_cast<float*>(g);
                        for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i] * scale);
                    } else {
                        const double* src = static_cast<const double*>(flat) + s.offset;
                        double* dst = static_cast<double*>(g);
                        for (std::size_t i = 0; i < n; ++i) dst[i] = src[i] * scale;
                    }
                });
            });
            s.ready = false;
        }
        for (Bucket& b : buckets) b.pending = b.slots.size();
        stats.copy_seconds += since(start);
        stats.buckets_reduced += buckets.size();
        ++stats.iterations;
        next_launch = 0;
        in_iteration = false;
    }
};

DataParallel::DataParallel(nn::ModulePtr module, DataParallelOptions options)
    : module_(std::move(module)), options_(options) {
    if (!module_) fail("rg::dist::DataParallel: no module given");
    if (options.bucket_bytes == 0 || options.first_bucket_bytes == 0)
        fail("rg::dist::DataParallel: bucket_bytes and first_bucket_bytes must be positive");
    register_module("module", module_);
    detail::comm("rg::dist::DataParallel");
    const nn::NamedTensors params = module_->named_parameters(), buffers = module_->named_buffers();
    check_same_model(params, buffers);
    {
        NoGrad off;  // every replica starts from rank 0's values
        for (auto list : {&params, &buffers})
            for (const auto& entry : *list) {
                Tensor t = entry.second;
                broadcast(t, 0);
            }
    }
    reducer_ = std::make_shared<Reducer>(params, options);
    std::weak_ptr<Reducer> weak = reducer_;
    for (std::size_t i = 0; i < reducer_->slots.size(); ++i)
        reducer_->slots[i].param.register_post_accumulate_grad_hook([weak, i](Tensor&) {
            if (auto reducer = weak.lock()) reducer->mark_ready(i);
        });
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast_buffers_from_rank0() {
    if (!options_.broadcast_buffers || !module_->is_training() || !is_grad_enabled() || !reducer_->sync_enabled) return;
    if (reducer_->in_iteration)
        fail("rg::dist::DataParallel (rank {}): forward while the previous backward's gradients are still being "
             "averaged; call synchronize() after backward (before optimizer.step())",
             detail::rank_or_zero());
    const char* caller = "rg::dist::DataParallel (buffers)";
    MPI_Comm comm = detail::comm(caller);
    std::vector<MPI_Request> requests;
    // Shapes were checked at construction: no descriptors are exchanged here.
    for (auto& entry : module_->named_buffers()) {
        Tensor t = entry.second;
        if (t.numel() == 0) continue;
        detail::with_contiguous_values(t, true, [&](void* values) {
            requests.push_back(MPI_REQUEST_NULL);
            detail::check(MPI_Ibcast(values, static_cast<int>(t.numel()), detail::mpi_type(t.dtype()), 0, comm,
                                     &requests.back()),
                          caller);
        });
    }
    if (!requests.empty()) detail::wait(requests.data(), static_cast<int>(requests.size()), caller);
}

Tensor DataParallel::forward(const Tensor& input) {
    broadcast_buffers_from_rank0();
    return module_->forward(input);
}

std::string DataParallel::describe() const {
    return fmt::format("DataParallel({}, {} ranks, {} buckets)", module_->describe(), detail::size_or_one(),
                       reducer_->buckets.size());
}

void DataParallel::synchronize() { reducer_->synchronize(); }
bool DataParallel::synchronized() const { return !reducer_->in_iteration; }

DataParallel::NoSync::NoSync(DataParallel& owner) : owner_(owner), previous_(owner.reducer_->sync_enabled) {
    if (owner.reducer_->in_iteration)
        fail("rg::dist::DataParallel::no_sync (rank {}): the previous backward's gradients are still being averaged; "
             "call synchronize() first",
             detail::rank_or_zero());
    owner.reducer_->sync_enabled = false;
}
DataParallel::NoSync::~NoSync() { owner_.reducer_->sync_enabled = previous_; }

nn::ParallelHooks DataParallel::trainer_hooks() {
    nn::ParallelHooks hooks;
    hooks.rank = static_cast<std::size_t>(detail::rank_or_zero());
    hooks.world_size = static_cast<std::size_t>(detail::size_or_one());
    hooks.before_forward = [this] { broadcast_buffers_from_rank0(); };
    hooks.synchronize = [this] { synchronize(); };
    // Set before each backward of an accumulated group: only the last one averages (what no_sync() does).
    hooks.sync_backward = [this](bool on) { reducer_->sync_enabled = on; };
    hooks.sum = [](std::vector<double>& values) {
        Tensor t = from_vector(values, Shape{values.size()}, {Dtype::float64});
        all_reduce(t, ReduceOp::sum);
        values = t.to_vector();
    };
    return hooks;
}

std::vector<std::vector<std::string>> DataParallel::buckets() const {
    std::vector<std::vector<std::string>> out;
    for (const auto& b : reducer_->buckets) {
        out.emplace_back();
        for (std::size_t i : b.slots) out.back().push_back(reducer_->slots[i].name);
    }
    return out;
}

ReducerStats DataParallel::stats() const { return reducer_->stats; }
void DataParallel::reset_stats() { reducer_->stats = {}; }

}  // namespace rg::dist
