#pragma once
// TensorImpl: what an rg::Tensor handle points to. The values are a strided
// view (shape, strides, offset) of a shared Storage; the rest is autograd
// state. Private to the library: users see rg::Tensor only.
#include <retrograd/autograd.hpp>

#include "storage.hpp"

#include <mutex>

namespace rg {

// State few tensors have (hooks, a name, the xtensor view value<T>() made),
// allocated on first use: the tape makes many intermediate tensors, and their
// size is what a backward pass walks through.
struct TensorExtras {
    std::vector<Hook> hooks;
    std::vector<PostAccumulateHook> post_accumulate_hooks;
    std::string name;
    std::shared_ptr<void> value_view;  // made by value<T>() on first use
};

struct TensorImpl {
    // Provided (not defaulted), so that making one does not first zero all
    // of it: every member has its own initialiser.
    TensorImpl() {}
    TensorImpl(const TensorImpl&) = delete;
    TensorImpl& operator=(const TensorImpl&) = delete;
    ~TensorImpl() {
        if (grad_fn) detail::release_node(std::move(grad_fn));
    }

    std::shared_ptr<detail::Storage> storage;
    Shape shape;
    Strides strides;
    std::size_t offset = 0;  // elements from the start of the storage
    std::size_t numel = 0;
    Dtype dtype = Dtype::float32;
    bool contiguous = true;
    bool is_view = false;
    // A view made by a view op under rg::NoGrad: writing it in place while
    // recording is refused (whether the write belongs to the graph is ambiguous).
    bool view_made_without_grad = false;
    // A view made by a view op (reshape, slice, select...) keeps the tensor at
    // the root of its chain of views, as PyTorch's _base: an in-place write
    // through the view rewrites the base's history (copy_slices), and once the
    // storage has been written since the view's grad_fn was made
    // (view_version), the view's history is remade from its base's
    // (as_strided) the next time it is used. Null for other tensors, detach()
    // included.
    std::shared_ptr<TensorImpl> view_base;
    std::uint64_t view_version = kNoViewCheck;
    static constexpr std::uint64_t kNoViewCheck = ~std::uint64_t{0};
    // True when the storage was written since this view's history was made.
    bool history_stale() const { return view_base && !view_made_without_grad && view_version != storage->version(); }

    bool requires_grad = false;
    bool retains_grad = false;
    std::shared_ptr<Node> grad_fn;  // the op that produced it (non-leaf)
    std::shared_ptr<Node> grad_accumulator;  // leaves: where their gradient lands
    Tensor grad;
    std::unique_ptr<TensorExtras> extras;  // null until a hook, a name or value<T>() needs it

    TensorExtras& extra() {
        if (!extras) extras = std::make_unique<TensorExtras>();
        return *extras;
    }
    bool has_hooks() const { return extras && !extras->hooks.empty(); }
    const std::string& name() const {
        static const std::string none;
        return extras ? extras->name : none;
    }

    template <class T> T* data() const { return static_cast<T*>(storage->data()) + offset; }
    // Sets shape and strides, and derives numel and contiguity.
    void set_geometry(const Shape& new_shape, const Strides& new_strides, std::size_t new_offset);
    // Row-major over the whole storage from its start, with `count` elements
    // (the caller knows it): what a kernel's fresh result is.
    void set_dense_geometry(const Shape& new_shape, std::size_t count);
};

namespace detail {

// Row-major strides of a dense array of `shape`.
Strides contiguous_strides(const Shape& shape);
// True when (shape, strides) walk memory row-major with no gaps (size-1 axes ignored).
bool is_contiguous_layout(const Shape& shape, const Strides& strides);

// A new dense row-major tensor of `shape` in a fresh storage, values
// uninitialised: kernels write their results into it. Errors (absurd sizes,
// memory refused) name `op`.
Tensor empty_dense(const Shape& shape, Dtype dtype, const char* op);
// The same for a shape whose element count is known to be valid (an existing
// tensor's).
Tensor empty_dense(const Shape& shape, Dtype dtype, const char* op, std::size_t numel);
template <class T> Tensor empty_dense(const Shape& shape, const char* op) {
    return empty_dense(shape, dtype_of<T>(), op);
}

// A new view of `base`'s storage with the given geometry (no autograd state).
Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, std::size_t offset);

// Checks a shape's element count and byte size for overflow and absurd sizes;
// returns the element count.
std::size_t checked_numel(const Shape& shape, Dtype dtype, const char* op);
// Resolves an IntList of sizes into a Shape (no -1 allowed), naming `op` on error.
Shape to_shape(IntList sizes, const char* op);

// True when t is the only handle on its storage and the storage is dense: no
// other tensor reads or views it, so it can be written in place.
inline bool owns_buffer(const Tensor& t) {
    return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1 && t.impl()->contiguous;
}

// The dense output of `node` held as `storage` (saved at `version`), as a
// tensor for its VJP: with the node as its grad_fn while the backward pass is
// recorded, so double backward flows through it. Refuses a storage written in
// place since.
Tensor unpack_output(const Node& node, const std::shared_ptr<Storage>& storage, std::uint64_t version);

// Views and in-place writes (view_history.cpp). track_view makes `view`, just
// made from `x` by a view op, a view of x's base (TensorImpl::view_base).
// refresh_view remakes a stale view's history from its base's; it runs
// before a tensor's requires_grad or grad_fn is read, and before an op over
// it is recorded.
void track_view(TensorImpl& view, const Tensor& x);
void remake_view_history(const Tensor& view);
inline void refresh_view(const Tensor& t) {
    if (t.impl()->history_stale()) [[unlikely]]
        remake_view_history(t);
}
// After `result` (the view's new values, computed out of place from its old
// ones while recording) was written into `view`: the view's base's history
// becomes a copy_slices node over its old history and `result`.
void rebase_view_base(const Tensor& view, const Tensor& result);

// Thread-safe: the node that receives a leaf's gradient (made on first use).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);

}  // namespace detail
}  // namespace rg
