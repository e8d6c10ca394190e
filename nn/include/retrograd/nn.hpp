#pragma once
// All of rg::nn and rg::optim.
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/init.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/losses.hpp>
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/network.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/nn/serialize.hpp>
