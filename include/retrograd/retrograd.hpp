#pragma once
/// @file
/// The whole of retrograd: `#include <retrograd/retrograd.hpp>` (rg::dist aside:
/// `<retrograd/dist/dist.hpp>`).
#include <retrograd/autograd.hpp>
#include <retrograd/check_formula.hpp>
#include <retrograd/attention.hpp>
#include <retrograd/autocast.hpp>
#include <retrograd/conv.hpp>
#include <retrograd/error.hpp>
#include <retrograd/explain.hpp>
#include <retrograd/gradcheck.hpp>
#include <retrograd/graph.hpp>
#include <retrograd/nn.hpp>
#include <retrograd/nn/graph_names.hpp>
#include <retrograd/ops.hpp>
#include <retrograd/tensor.hpp>
#include <retrograd/threads.hpp>
