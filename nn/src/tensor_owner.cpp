// Names the layer a state-dict entry belongs to, so that a load error says
// which layer expected what.
#include "tensor_owner.hpp"

#include <fmt/format.h>

namespace rg::nn::detail {
namespace {

struct Owner {
    const Module* module;
    std::string path;  // "" for the root
};

Owner find_owner(const Module& root, const std::string& name) {
    Owner owner{&root, ""};
    std::size_t start = 0;
    for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
        const std::string part = name.substr(start, dot - start);
        const Module* next = nullptr;
        for (const auto& child : owner.module->children())
            if (child.first == part) next = child.second.get();
        if (!next) break;
        owner.module = next;
        owner.path += (owner.path.empty() ? "" : ".") + part;
        start = dot + 1;
    }
    return owner;
}

std::string text(const Owner& owner) {
    return owner.path.empty() ? owner.module->describe()
                              : fmt::format("{} at '{}'", owner.module->describe(), owner.path);
}

}  // namespace

std::string owner_of(const Module& root, const std::string& name) { return text(find_owner(root, name)); }

std::string owner_and_its_tensors(const Module& root, const std::string& name) {
    const Owner owner = find_owner(root, name);
    NamedTensors tensors = owner.module->named_parameters();
    for (auto& buffer : owner.module->named_buffers()) tensors.push_back(buffer);
    constexpr std::size_t shown = 12;
    std::string list;
    for (std::size_t i = 0; i < tensors.size() && i < shown; ++i) list += (i ? ", " : "") + tensors[i].first;
    if (tensors.size() > shown) list += fmt::format(" and {} more", tensors.size() - shown);
    return fmt::format("{} has {}", text(owner), tensors.empty() ? "no tensors" : list);
}

}  // namespace rg::nn::detail
