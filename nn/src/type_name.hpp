#pragma once
// A class's name as a user reads it, for messages and describe().
#include <string>
#include <typeinfo>

namespace rg::nn::detail {
// "Linear", not "rg::nn::Linear" nor its mangled name; a template keeps its namespaces.
std::string class_name(const std::type_info& type);
}  // namespace rg::nn::detail
