#pragma once
// The course's Network (*Réseaux de neurones en pratique*, part X): add layers, choose a loss, fit, predict.
// A thin facade over Sequential, a loss and SGD, so the course's programs
// translate almost line for line, with mini-batches added.
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/losses.hpp>

#include <functional>
#include <iosfwd>

namespace rg::nn {

using LossFunction = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;

struct FitOptions {
    std::size_t epochs = 1;
    double learning_rate = 0.01;
    std::size_t batch_size = 1;  // 1: sample by sample, as the course
    bool shuffle = false;  // reshuffle samples each epoch (rg::manual_seed makes it repeatable)
    bool verbose = true;  // print "epoch i/n  error=..." each epoch
    std::ostream* out = nullptr;  // where to print (std::cout when null)
};

struct FitHistory {
    std::vector<double> loss;  // mean loss per epoch
};

class Network {
public:
    template <class M> Network& add(M&& layer) {
        layers_.add(std::forward<M>(layer));
        return *this;
    }
    Network& use(LossFunction loss);
    Network& use(Tensor (*loss)(const Tensor&, const Tensor&, LossOptions));  // e.g. use(rg::nn::mse_loss)
    // Gradient descent over (x, y), batch by batch along axis 0.
    FitHistory fit(const Tensor& x, const Tensor& y, FitOptions options);
    // The network's output for x, in eval mode and without recording.
    Tensor predict(const Tensor& x);
    Sequential& layers() { return layers_; }

private:
    Sequential layers_;
    LossFunction loss_;
};

}  // namespace rg::nn
