#pragma once
// All of rg::nn, rg::optim and rg::data.
#include <retrograd/data/layout.hpp>
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/init.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/losses.hpp>
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/network.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/nn/serialize.hpp>
