#pragma once
// Internal helpers shared by the op files: dtype dispatch, argument checks and
// the strided loops that all elementwise, broadcasting and reduction kernels
// are built on. Results are dense row-major: a kernel writes into a fresh
// storage (empty_dense) through its raw pointer; inputs are read dense
// (Dense<T>) or with their own strides (Strided<T>).
#include <retrograd/autograd.hpp>
#include <retrograd/ops.hpp>

#include "kernels/threads.hpp"
#include "tensor_impl.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>
#include <type_traits>

namespace rg::detail {

using Strides = rg::Strides;

inline const Tensor& defined_or_fail(const Tensor& t, const char* op) {
    if (!t.defined()) fail("{}: got an undefined tensor (default-constructed rg::Tensor)", op);
    return t;
}

// A tensor's values as one dense row-major block: the storage itself when the
// tensor is contiguous, else a contiguous copy held for the block's lifetime.
// Kernels that need dense input read through it.
template <class T> class Dense {
public:
    using value_type = T;
    explicit Dense(const Tensor& t);
    const T* data() const { return data_; }
    const Shape& shape() const { return tensor_.shape(); }
    std::size_t size() const { return tensor_.numel(); }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size(); }
    const Tensor& tensor() const { return tensor_; }  // contiguous

private:
    Tensor tensor_;
    const T* data_;
};

// A tensor's values in place, with its strides (no copy), for kernels that
// walk strided operands (elementwise ops, products).
template <class T> struct Strided {
    explicit Strided(const Tensor& t) : data(t.data_ptr<T>()), shape(t.shape()), strides(t.strides()) {}
    // The caller has checked that the values are T.
    Strided(const T* first, const Shape& values_shape, const Strides& values_strides)
        : data(first), shape(values_shape), strides(values_strides) {}
    const T* data;
    const Shape& shape;
    const Strides& strides;
};

// A contiguous copy of t's values (no recording).
Tensor contiguous_values(const Tensor& t);
// Writes src (broadcast to dst's shape, same dtype) into dst's strided storage.
void copy_values(const Tensor& dst, const Tensor& src);

template <class T>
Dense<T>::Dense(const Tensor& t)
    : tensor_(t.is_contiguous() ? t : contiguous_values(t)), data_(tensor_.template data_ptr<T>()) {}

// The rg::Error for a Dtype outside the enum's list (a cast integer), naming `op`.
[[noreturn]] void unknown_dtype(Dtype dtype, const char* op);
void check_dtype(Dtype dtype, const char* op);  // unknown_dtype unless dtype is listed

// Calls f(T{}) with a value of the dtype's element type (float, double,
// std::int64_t, bool). The one dispatch on dtype: every dtype is a case, and
// a value outside the list is an rg::Error naming `op`, never another dtype.
template <class F> decltype(auto) visit_dtype(Dtype dtype, const char* op, F&& f) {
    switch (dtype) {
        case Dtype::float32: return f(float{});
        case Dtype::float64: return f(double{});
        case Dtype::int64: return f(std::int64_t{});
        case Dtype::bool_: return f(bool{});
        case Dtype::bfloat16: return f(BFloat16{});
    }
    unknown_dtype(dtype, op);
}
template <class F> decltype(auto) visit_dtype(Dtype dtype, F&& f) { return visit_dtype(dtype, "visit_dtype", f); }
// The same for kernels that compute in floating point: any other dtype is an
// rg::Error naming `op` and the dtype.
template <class F> decltype(auto) visit_float_dtype(Dtype dtype, const char* op, F&& f) {
    switch (dtype) {
        case Dtype::float32: return f(float{});
        case Dtype::float64: return f(double{});
        case Dtype::int64:
        case Dtype::bool_:
        case Dtype::bfloat16: break;
    }
    check_dtype(dtype, op);
    // bfloat16 reaches a kernel through visit_float, map_float or zip_float,
    // which compute it in float32; an op that reads the dtype alone does not.
    if (dtype == Dtype::bfloat16) fail("{}: bfloat16 is not supported here; convert with .to(rg::float32)", op);
    fail("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(dtype));
}

// bfloat16 computed in float32, as PyTorch's CPU kernels do: the exact
// float32 copy of a bfloat16 tensor's values, and a float32 result rounded to
// bfloat16 (to nearest even). Neither records.
Tensor bf16_as_float32(const Tensor& t);
Tensor float32_as_bf16(const Tensor& t);
// A kernel's result from bfloat16 inputs: float32 results rounded to
// bfloat16; anything else (indices, masks, no result) as it is.
template <class R> R rounded_to_bf16(R&& result) {
    if constexpr (std::is_same_v<std::decay_t<R>, Tensor>) {
        if (result.defined() && result.dtype() == Dtype::float32) return float32_as_bf16(result);
    }
    return std::forward<R>(result);
}

// Calls f(Dense<T>) with the float32 or float64 values of t. A bfloat16 t is
// read as float32 (Dense<float>) and a float32 tensor that f returns is
// rounded to bfloat16: every kernel written for float serves bfloat16.
template <class F> decltype(auto) visit_float(const Tensor& t, const char* op, F&& f) {
    defined_or_fail(t, op);
    if (t.dtype() == Dtype::bfloat16) {
        using R = decltype(f(std::declval<const Dense<float>&>()));
        if constexpr (std::is_void_v<R>) {
            f(Dense<float>(bf16_as_float32(t)));
            return;
        } else {
            return static_cast<R>(rounded_to_bf16(f(Dense<float>(bf16_as_float32(t)))));
        }
    }
    return visit_float_dtype(t.dtype(), op, [&](auto zero) -> decltype(auto) { return f(Dense<decltype(zero)>(t)); });
}

inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
    defined_or_fail(a, op);
    defined_or_fail(b, op);
    if (a.dtype() != b.dtype()) {
        fail("{}: dtype mismatch, {} and {}; convert one side with .to(rg::{})", op, dtype_name(a.dtype()),
             dtype_name(b.dtype()), dtype_name(a.dtype()));
    }
}

// Calls f(dense_a, dense_b) with both tensors' values, of the same float dtype.
template <class F> decltype(auto) visit_float2(const Tensor& a, const Tensor& b, const char* op, F&& f) {
    check_same_dtype(a, b, op);
    if (a.dtype() == Dtype::bfloat16) {  // both, in float32 (see visit_float)
        using R = decltype(f(std::declval<const Dense<float>&>(), std::declval<const Dense<float>&>()));
        return static_cast<R>(rounded_to_bf16(f(Dense<float>(bf16_as_float32(a)), Dense<float>(bf16_as_float32(b)))));
    }
    return visit_float(a, op, [&](const auto& av) -> decltype(auto) {
        using T = typename std::decay_t<decltype(av)>::value_type;
        return f(av, Dense<T>(b));
    });
}

// Strides that read an array of shape `from` with `strides` as if broadcast to `to`.
Strides broadcast_strides(const Shape& from, const Strides& strides, const Shape& to);
inline Strides broadcast_strides(const Shape& from, const Shape& to) {
    return broadcast_strides(from, contiguous_strides(from), to);
}
// Row-major shape with `axes` (sorted, unique) set to 1 or removed.
Shape reduced_shape(const Shape& shape, const std::vector<std::size_t>& axes, bool keepdims);
// Normalises an axis list (negative, duplicates, range); empty means all axes.
std::vector<std::size_t> normalize_axes(const Axes& axes, std::size_t rank, const char* op);

// Calls f(offsets, inner_strides, count) for every innermost row of `shape`:
// element k of the row sits at offsets[i] + k * inner_strides[i] in operand i.
template <std::size_t N, class F> void for_each_row(const Shape& shape, const std::array<Strides, N>& strides, F&& f) {
    const std::size_t rank = shape.size();
    std::array<std::ptrdiff_t, N> offsets{};
    std::array<std::ptrdiff_t, N> inner{};
    if (rank == 0) {
        f(offsets, inner, std::size_t{1});
        return;
    }
    if (shape_numel(shape) == 0) return;
    for (std::size_t i = 0; i < N; ++i) inner[i] = strides[i][rank - 1];
    const std::size_t count = shape[rank - 1];
    xt::svector<std::size_t, 4> index(rank, 0);
    while (true) {
        f(offsets, inner, count);
        std::ptrdiff_t d = static_cast<std::ptrdiff_t>(rank) - 2;
        for (; d >= 0; --d) {
            if (++index[d] < shape[d]) {
                for (std::size_t i = 0; i < N; ++i) offsets[i] += strides[i][d];
                break;
            }
            for (std::size_t i = 0; i < N; ++i) offsets[i] -= strides[i][d] * static_cast<std::ptrdiff_t>(shape[d] - 1);
            index[d] = 0;
        }
        if (d < 0) return;
    }
}

// Calls f(offsets, inner_strides, count) for every innermost row of `shape`
// as for_each_row does, the rows split among the threads when the tensor has
// at least parallel_threshold elements. Each row is visited once, by one
// thread: f must write its row's elements alone.
template <std::size_t N, class F>
void for_each_row_parallel(const Shape& shape, const std::array<Strides, N>& strides, F&& f) {
    const std::size_t rank = shape.size(), n = shape_numel(shape);
    if (rank < 2 || n < parallel_threshold) {
        for_each_row(shape, strides, f);
        return;
    }
    const std::size_t count = shape[rank - 1], rows = n / count;
    std::array<std::ptrdiff_t, N> inner{};
    for (std::size_t i = 0; i < N; ++i) inner[i] = strides[i][rank - 1];
    const auto run = [&](std::size_t begin, std::size_t end) {
        // The first row's index and offsets, then one step a row as for_each_row.
        xt::svector<std::size_t, 4> index(rank, 0);
        std::array<std::ptrdiff_t, N> offsets{};
        std::size_t rest = begin;
        for (std::size_t d = rank - 1; d-- > 0;) {
            index[d] = rest % shape[d];
            rest /= shape[d];
            for (std::size_t i = 0; i < N; ++i) offsets[i] += static_cast<std::ptrdiff_t>(index[d]) * strides[i][d];
        }
        for (std::size_t row = begin; row < end; ++row) {
            f(offsets, inner, count);
            for (std::size_t d = rank - 1; d-- > 0;) {
                if (++index[d] < shape[d]) {
                    for (std::size_t i = 0; i < N; ++i) offsets[i] += strides[i][d];
                    break;
                }
                for (std::size_t i = 0; i < N; ++i)
                    offsets[i] -= strides[i][d] * static_cast<std::ptrdiff_t>(shape[d] - 1);
                index[d] = 0;
            }
        }
    };
    parallel_for(rows, run, std::max<std::size_t>(2, parallel_threshold / count));
}

// Calls f(i) for i in [0, n): in one loop on the calling thread for small n
// (so that it vectorises and small tensors pay nothing), else split among
// the threads. f must touch element i alone.
template <class F> void elementwise(std::size_t n, F f) {
    if (n < parallel_threshold) {
        for (std::size_t i = 0; i < n; ++i) f(i);
        return;
    }
    parallel_for(n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) f(i);
    });
}

// out[i] += in[i] for i < n: a gradient accumulated in place.
template <class T> void add_into(T* out, const T* in, std::size_t n) {
    elementwise(n, [out, in](std::size_t i) { out[i] += in[i]; });
}

// The sum of n values in double, the same for any thread count: blocks of a
// fixed size, each summed in 8 lanes (so that it vectorises), then added in
// order.
constexpr std::size_t sum_block = 1 << 16;
template <class T> double sum_in_blocks(const T* data, std::size_t n) {
    constexpr std::size_t block = sum_block;
    const auto block_sum = [data, n](std::size_t b) {
        const T* in = data + b * sum_block;
        const std::size_t count = std::min(sum_block, n - b * sum_block), blocked = count - count % 8;
        double lanes[8] = {};
        for (std::size_t i = 0; i < blocked; i += 8)
            for (std::size_t l = 0; l < 8; ++l) lanes[l] += in[i + l];
        double acc = 0;
        for (std::size_t i = blocked; i < count; ++i) acc += in[i];
        for (double lane : lanes) acc += lane;
        return acc;
    };
    const std::size_t blocks = (n + block - 1) / block;
    if (blocks <= 1) return n == 0 ? 0.0 : block_sum(0);
    std::vector<double> partial(blocks);
    parallel_blocks(blocks, n, [&](std::size_t b) { partial[b] = block_sum(b); });
    double total = 0;
    for (double p : partial) total += p;
    return total;
}

// out[i] = f(a[i]) for a read with its own strides, out dense row-major.
template <class T, class U, class F> void map_values(const Strided<T>& a, U* out, F f) {
    if (is_contiguous_layout(a.shape, a.strides)) {
        const T* in = a.data;
        elementwise(shape_numel(a.shape), [&](std::size_t i) { out[i] = f(in[i]); });
        return;
    }
    const std::array<Strides, 2> st{a.strides, contiguous_strides(a.shape)};
    for_each_row_parallel(a.shape, st, [&](const auto& off, const auto& inner, std::size_t count) {
        const T* row = a.data + off[0];
        U* dst = out + off[1];
        for (std::size_t k = 0; k < count; ++k) dst[k] = f(row[static_cast<std::ptrdiff_t>(k) * inner[0]]);
    });
}

// out = f(a, b) with NumPy broadcasting to out_shape, out dense row-major; a
// and b are read with their own strides (transposed or expanded views are not
// copied).
template <class T, class U, class F>
void zip_values(const Strided<T>& a, const Strided<T>& b, const Shape& out_shape, U* out, F f) {
    const T* pa = a.data;
    const T* pb = b.data;
    const std::size_t n = shape_numel(out_shape);
    const bool a_full = a.shape == out_shape && is_contiguous_layout(a.shape, a.strides);
    const bool b_full = b.shape == out_shape && is_contiguous_layout(b.shape, b.strides);
    const bool a_scalar = shape_numel(a.shape) == 1, b_scalar = shape_numel(b.shape) == 1;
    if (a_full && b_full) {
        elementwise(n, [&](std::size_t i) { out[i] = f(pa[i], pb[i]); });
    } else if (a_full && b_scalar) {
        const T s = pb[0];
        elementwise(n, [&](std::size_t i) { out[i] = f(pa[i], s); });
    } else if (b_full && a_scalar) {
        const T s = pa[0];
        elementwise(n, [&](std::size_t i) { out[i] = f(s, pb[i]); });
    } else {
        const std::array<Strides, 3> st{broadcast_strides(a.shape, a.strides, out_shape),
                                        broadcast_strides(b.shape, b.strides, out_shape),
                                        contiguous_strides(out_shape)};
        for_each_row_parallel(out_shape, st, [&](const auto& off, const auto& in, std::size_t count) {
            const T* ra = pa + off[0];
            const T* rb = pb + off[1];
            U* ro = out + off[2];
            if (in[0] == 1 && in[1] == 1) {
                for (std::size_t k = 0; k < count; ++k) ro[k] = f(ra[k], rb[k]);
            } else {
                for (std::size_t k = 0; k < count; ++k)
                    ro[k] = f(ra[static_cast<std::ptrdiff_t>(k) * in[0]], rb[static_cast<std::ptrdiff_t>(k) * in[1]]);
            }
        });
    }
}

// Splits `shape` around `axis` into (outer, size, inner) so that element
// (o, k, i) sits at (o * size + k) * inner + i.
struct AxisSplit {
    std::size_t outer = 1, size = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, std::size_t axis);

// Softmax (or log-softmax) along the axis of a split, over dense row-major
// values; and its VJP from the output y: g's rows, y's rows, out may be g.
template <class T> void softmax_forward(const T* in, T* out, const AxisSplit& split, bool log_space);
template <class T> void softmax_backward(const T* g, const T* y, T* out, const AxisSplit& split, bool log_space);

// Layer normalisation over `rows` dense rows of `size` values (kernels/layer_norm.cpp):
// y = (x - mean) / sqrt(var + eps) * w + b, w and b of `size` values or null;
// and the input's VJP from x, dx = rstd (a - mean(a) - x̂ mean(a x̂)) with
// a = g w (g when w is null). dx may be g.
template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, std::size_t rows, std::size_t size, double eps);
template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, T* dx, std::size_t rows, std::size_t size, double eps);

// The pointwise part of an LSTM cell over `rows` dense rows (kernels/lstm.cpp):
// gates rows of 4 * hidden values, the quarters i, f, g, o in PyTorch's order,
// and c rows of `hidden`; c' = σ(f) c + σ(i) tanh(g) and h = σ(o) tanh(c').
// Unless `saved` is null, rows of 5 * hidden keep σ(i), σ(f), tanh(g), σ(o)
// and tanh(c') for the VJP, which from them, c, dh and dc' (rows of `hidden`)
// writes dgates (rows of 4 * hidden) and dc.
template <class T>
void lstm_pointwise_forward(const T* gates, const T* c, T* h, T* c_next, T* saved, std::size_t rows,
                            std::size_t hidden);
template <class T>
void lstm_pointwise_backward(const T* dh, const T* dc_next, const T* saved, const T* c, T* dgates, T* dc,
                             std::size_t rows, std::size_t hidden);
// The pointwise part of a GRU cell over `rows` dense rows (kernels/gru.cpp):
// xw and hw rows of 3 * hidden values (x W_ihᵀ + b_ih and h W_hhᵀ + b_hh, the
// thirds r, z, n in PyTorch's order) and h rows of `hidden`; r, z = σ(xw +
// hw), n = tanh(xw_n + r hw_n), h' = n + z (h - n). Unless `saved` is null,
// rows of 4 * hidden keep r, z, n and hw_n for the VJP, which from them, h
// and dh' writes dxw, dhw (rows of 3 * hidden) and dh.
template <class T>
void gru_pointwise_forward(const T* xw, const T* hw, const T* h, T* out, T* saved, std::size_t rows,
                           std::size_t hidden);
template <class T>
void gru_pointwise_backward(const T* dout, const T* saved, const T* h, T* dxw, T* dhw, T* dh, std::size_t rows,
                            std::size_t hidden);

// Batch normalisation over dense values laid out (outer, channels, inner):
// element (n, c, i) at (n * channels + c) * inner + i (kernels/batch_norm.cpp).
struct ChannelLayout {
    std::size_t outer, channels, inner;
};
// Per channel: the mean, the biased variance and 1 / sqrt(variance + eps).
struct BatchNormStats {
    std::vector<double> mean, variance, rstd;
};
template <class T> void batch_norm_stats(const T* x, const ChannelLayout& s, double eps, BatchNormStats& stats);
// y = (x - mean) rstd w + b per channel; w and b may be null.
template <class T>
void batch_norm_apply(const T* x, const ChannelLayout& s, const BatchNormStats& stats, const T* w, const T* b, T* y);
// Per channel: Σ g and Σ g x̂, x̂ = (x - mean) rstd.
template <class T>
void batch_norm_grad_sums(const T* g, const T* x, const ChannelLayout& s, const BatchNormStats& stats,
                          std::vector<double>& sum_g, std::vector<double>& sum_g_xhat);
// dx = w rstd (g - Σg / m - x̂ Σ(g x̂) / m) per channel, m = outer * inner; w may be null, dx may be g.
template <class T>
void batch_norm_input_grad(const T* g, const T* x, const ChannelLayout& s, const BatchNormStats& stats, const T* w,
                           const std::vector<double>& sum_g, const std::vector<double>& sum_g_xhat, T* dx);

// Results at least this large bypass the caches (streaming stores): they
// would only evict the operands' lines and then be evicted themselves, and
// a streaming store saves the read of the destination line a cached store
// makes first.
constexpr std::size_t streaming_bytes = 8u << 20;
// out[k] = input[k] + value * t1[k] * t2[k] over one contiguous row
// (kernels/fused.cpp), with streaming stores when `stream`; call
// streaming_fence() once the last streamed row is written.
template <class T>
void addcmul_row(const T* input, const T* t1, const T* t2, T value, T* out, std::size_t count, bool stream);
void streaming_fence();

// Runs f with recording off: for values a VJP needs but never differentiates.
template <class F> auto without_grad(F&& f) {
    NoGrad off;
    return f();
}

// C (m x n) = op(A) op(B), or C += op(A) op(B) when accumulating, row-major,
// inner size k; lda and ldb are the stored row lengths (kernels/blas.cpp:
// float32 through oneDNN, float64 through OpenBLAS). Zero-sized products are
// handled.
void product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float* c, bool accumulate);
void product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double* c, bool accumulate);

// masked_fill's checks (mask_ops.cpp): a bool mask that broadcasts to x's shape.
void check_fill_mask(const Tensor& x, const Tensor& mask, const char* op);

// rg::Autocast (autocast.cpp): true when the calling thread's float32 products
// read their operands rounded to bfloat16 (kernels/bf16.hpp: by which
// kernel); bf16_unavailable says once on stderr that oneDNN refused a
// bfloat16 `op` (the product then rounds its operands for float32 kernels).
bool autocast_products();
void bf16_unavailable(const char* op);
// Turns bfloat16 products on or off for a scope (a VJP recorded inside rg::Autocast).
class AutocastProducts {
public:
    explicit AutocastProducts(bool on);
    ~AutocastProducts();
    AutocastProducts(const AutocastProducts&) = delete;
    AutocastProducts& operator=(const AutocastProducts&) = delete;

private:
    bool previous_;
};

// Raises when anomaly detection is on and values hold NaN or Inf.
void check_finite(const Tensor& t, const char* when, std::string_view op);

}  // namespace rg::detail
