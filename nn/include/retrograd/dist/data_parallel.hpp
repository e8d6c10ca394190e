#pragma once
/// @file
/// rg::dist::DataParallel, as PyTorch's DistributedDataParallel: every rank
/// holds a replica of the model and trains on its own shard of each batch;
/// gradients are averaged over the ranks during backward, so every replica
/// takes the same optimizer step.
///
///   rg::dist::Environment env;
///   rg::dist::DataParallel model(rg::nn::Sequential{...});  // rank 0's weights everywhere
///   auto loss = rg::nn::cross_entropy(model(x_shard), y_shard);
///   opt.zero_grad(); loss.backward();
///   model.synchronize();                                    // gradients averaged
///   opt.step();
///
/// How: at construction every rank checks that its model has the same
/// parameters (names, shapes, dtypes) as rank 0's and receives rank 0's
/// parameters and buffers. The parameters are grouped into buckets of about
/// bucket_bytes, in reverse order of registration (the order backward tends to
/// finish them). A post-accumulate-grad hook on each parameter copies its
/// finished gradient into its bucket's flat buffer; when a bucket is full its
/// sum over the ranks starts (MPI_Iallreduce) while backward goes on with the
/// earlier layers. Buckets start in the same order on every rank. When the last
/// bucket has started, the hook waits for them all and writes the averaged
/// gradients back into .grad, so after backward the gradients are averaged.
/// synchronize() does the same for a backward that left parameters without a
/// gradient (they count as zeros) and returns at once otherwise; call it
/// between backward and optimizer.step() (rg::nn::train does, through
/// trainer_hooks()).
///
/// Buffers (BatchNorm's running statistics) are broadcast from rank 0 at the
/// start of every forward in training mode with gradients enabled, as
/// PyTorch's DDP does with broadcast_buffers=True (its default): every rank
/// normalises with its own batch's statistics, and the running statistics
/// kept are rank 0's.
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/trainer.hpp>

#include <cstddef>
#include <memory>

namespace rg::dist {

/// How a DataParallel groups and averages gradients.
struct DataParallelOptions {
    std::size_t bucket_bytes = 25u << 20;  ///< bucket size, as c10d's bucket_cap_mb=25
    std::size_t first_bucket_bytes = 1u << 20;  ///< smaller, so that reduction starts early (as c10d)
    bool broadcast_buffers = true;  ///< from rank 0 at each training forward
};

/// Where the time went since construction (or reset_stats()).
struct ReducerStats {
    std::size_t iterations = 0;  ///< backward passes whose gradients were averaged
    std::size_t buckets_reduced = 0;  ///< buckets summed over the ranks
    double copy_seconds = 0;  ///< gradients into buckets and back
    double wait_seconds = 0;  ///< waiting for the ranks' sums to complete
};

class Reducer;
class DataParallel;

/// Any module but a DataParallel. Without the exception, DataParallel(dp) with
// a non-const dp would pick the forwarding constructor (a better match than
// the copy) and recurse without end: DataParallel(dp) -> share(dp) -> DataParallel(dp)...
template <class M>
concept WrappableModule = nn::ModuleLike<M> && !std::is_base_of_v<DataParallel, std::decay_t<M>>;

/// A model replicated on every rank, its gradients averaged over the ranks
/// during backward (as PyTorch's DistributedDataParallel; see the file's description).
class DataParallel : public nn::Module {
public:
    /// Wraps a shared module: checks that every rank's model has rank 0's
    /// parameters (names, shapes, dtypes) and copies rank 0's values everywhere.
    /// @param module the model (shared, not copied)
    /// @param options buckets and buffer broadcasting
    /// @throws rg::Error when no Environment lives, or the ranks' models differ (naming how)
    explicit DataParallel(nn::ModulePtr module, DataParallelOptions options = {});
    /// Wraps a module given by value (moved into a shared one).
    /// @param module the model
    /// @param options buckets and buffer broadcasting
    /// @throws rg::Error as the other constructor
    template <WrappableModule M>
    // NOLINTNEXTLINE(bugprone-forwarding-reference-overload): the concept excludes DataParallel
    explicit DataParallel(M&& module, DataParallelOptions options = {})
        : DataParallel(nn::share(std::forward<M>(module)), options) {}
    // Not copied or moved: trainer_hooks() and NoSync refer to this object,
    // and a copy would share its reducer (buckets, reductions under way).
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;
    ~DataParallel() override;

    /// Broadcasts buffers (see the file's description), then runs the wrapped module.
    /// @param input this rank's shard of the batch
    Tensor forward(const Tensor& input) override;
    /// "DataParallel(<the wrapped module's description>)".
    std::string describe() const override;
    /// The wrapped module.
    nn::Module& module() const { return *module_; }

    /// Returns once the gradients of the last backward are averaged over the ranks.
    /// @throws rg::Error when a rank does not arrive in time
    void synchronize();
    /// Whether the last backward's gradients are averaged (false while a
    /// backward's buckets are still under way: optimizer.step() must wait).
    bool synchronized() const;

    /// While a NoSync lives, backward passes accumulate gradients locally; the
    /// first backward after it averages the accumulated .grad (as DDP's no_sync()).
    class NoSync {
    public:
        /// Stops averaging on `owner` until destroyed.
        /// @param owner the DataParallel
        explicit NoSync(DataParallel& owner);
        /// Averaging resumes with the next backward.
        ~NoSync();
        NoSync(const NoSync&) = delete;
        NoSync& operator=(const NoSync&) = delete;

    private:
        DataParallel& owner_;
        bool previous_;
    };
    /// `auto pause = dp.no_sync();`: see NoSync.
    NoSync no_sync() { return NoSync(*this); }

    /// For rg::nn::train(dp.module(), ..., {.parallel = dp.trainer_hooks()});
    /// the hooks refer to this DataParallel, which must outlive them.
    nn::ParallelHooks trainer_hooks();

    /// Bucket layout: the parameter names (as in module().named_parameters()) of each bucket.
    std::vector<std::vector<std::string>> buckets() const;
    /// Where the time went since construction or reset_stats().
    ReducerStats stats() const;
    /// Starts stats() from zero.
    void reset_stats();

private:
    void broadcast_buffers_from_rank0();
    nn::ModulePtr module_;
    DataParallelOptions options_;
    std::shared_ptr<Reducer> reducer_;
};

}  // namespace rg::dist
