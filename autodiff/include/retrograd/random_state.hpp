#pragma once
/// @file
/// The state of retrograd's random generator (the one behind rand, randn,
/// uniform, randint, dropout and the nn initialisers), saved and restored to
/// replay the same draws, as torch::get_rng_state / set_rng_state.
#include <memory>

namespace rg {

/// A copy of the random generator's state; opaque.
class RngState {
public:
    /// The state the generator starts in (as after manual_seed(5489), the
    /// standard default seed of its Mersenne Twister).
    RngState();

private:
    struct Engine;
    std::shared_ptr<const Engine> engine_;
    friend RngState get_rng_state();
    friend void set_rng_state(const RngState& state);
};

/// The random generator's current state: restoring it with set_rng_state
/// makes the next draws repeat those that follow this call.
RngState get_rng_state();

/// Sets the random generator to a saved state.
/// @param state a state from get_rng_state (or a default-constructed one)
void set_rng_state(const RngState& state);

}  // namespace rg
