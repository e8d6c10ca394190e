#pragma once
/// @file
/// The course's Network (*Réseaux de neurones en pratique*, part X): add layers, choose a loss, fit, predict.
/// A thin facade over Sequential, a loss and SGD, so the course's programs
/// translate almost line for line, with mini-batches added.
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/losses.hpp>

#include <functional>
#include <iosfwd>

namespace rg::nn {

/// A loss for Network::use: (prediction, target) -> a scalar tensor.
using LossFunction = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;

/// How Network::fit trains.
struct FitOptions {
    std::size_t epochs = 1;  ///< passes over the data
    double learning_rate = 0.01;  ///< plain gradient descent's step
    std::size_t batch_size = 1;  ///< 1: sample by sample, as the course
    bool shuffle = false;  ///< reshuffle samples each epoch (rg::manual_seed makes it repeatable)
    bool verbose = true;  ///< print "epoch i/n  error=..." each epoch
    std::ostream* out = nullptr;  ///< where to print (std::cout when null)
};

/// What Network::fit returns.
struct FitHistory {
    std::vector<double> loss;  ///< mean loss per epoch
};

/// The course's Network: add layers, choose a loss, fit, predict.
class Network {
public:
    /// Appends a layer (any module: Linear, Tanh...).
    /// @param layer the module, moved or copied in
    /// @return this network, to chain calls
    template <class M> Network& add(M&& layer) {
        layers_.add(std::forward<M>(layer));
        return *this;
    }
    /// Chooses the loss.
    /// @param loss (prediction, target) -> a scalar tensor
    /// @return this network
    /// @throws rg::Error when `loss` is empty
    Network& use(LossFunction loss);
    /// Chooses one of rg::nn's losses with its default options, e.g. use(rg::nn::mse_loss).
    /// @param loss the loss function
    /// @return this network
    /// @throws rg::Error when `loss` is null
    Network& use(Tensor (*loss)(const Tensor&, const Tensor&, LossOptions));
    /// Gradient descent over (x, y), batch by batch along axis 0.
    /// @param x the inputs, samples along axis 0
    /// @param y the targets, as many samples as `x`
    /// @param options epochs, learning rate, batch size...
    /// @return the mean loss of each epoch
    /// @throws rg::Error when there are no layers or no loss, `x` and `y` differ in
    ///         sample count, epochs or batch_size is 0, or the loss is not one value
    FitHistory fit(const Tensor& x, const Tensor& y, FitOptions options);
    /// The network's output for x, in eval mode and without recording.
    /// @param x the inputs
    Tensor predict(const Tensor& x);
    /// The layers, as a Sequential (to inspect, save or train otherwise).
    Sequential& layers() { return layers_; }

private:
    Sequential layers_;
    LossFunction loss_;
};

}  // namespace rg::nn
