// InlineList (retrograd/detail/inline_list.hpp): the vector that holds a
// node's edges and saved inputs and a VJP's gradients, inline up to N.
#include <retrograd/detail/inline_list.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "helpers.hpp"

using rg::detail::InlineList;

namespace {
// Counts the live instances, so that every element made is destroyed once.
struct Counted {
    static inline int live = 0;
    std::string value;
    Counted() { ++live; }
    explicit Counted(std::string v) : value(std::move(v)) { ++live; }
    Counted(const Counted& o) : value(o.value) { ++live; }
    Counted(Counted&& o) noexcept : value(std::move(o.value)) { ++live; }
    Counted& operator=(const Counted&) = default;
    Counted& operator=(Counted&&) noexcept = default;
    ~Counted() { --live; }
};

std::vector<std::string> values(const InlineList<Counted, 2>& list) {
    std::vector<std::string> out;
    for (const Counted& c : list) out.push_back(c.value);
    return out;
}
}  // namespace

TEST_CASE("InlineList keeps up to N elements inside itself and moves to a block beyond") {
    {
        InlineList<Counted, 2> list;
        CHECK(list.empty());
        list.push_back(Counted("a"));
        list.push_back(Counted("b"));
        const auto* inside = reinterpret_cast<const char*>(&list);
        const auto* first = reinterpret_cast<const char*>(list.data());
        CHECK((first >= inside && first < inside + sizeof(list)));  // still inline
        list.push_back(Counted("c"));
        first = reinterpret_cast<const char*>(list.data());
        CHECK_FALSE((first >= inside && first < inside + sizeof(list)));  // grew into a block
        CHECK(values(list) == std::vector<std::string>{"a", "b", "c"});
        CHECK(Counted::live == 3);
        list.resize(1);
        CHECK(values(list) == std::vector<std::string>{"a"});
        list.resize(4);
        CHECK(list.size() == 4);
        CHECK(list[3].value.empty());
    }
    CHECK(Counted::live == 0);
}

TEST_CASE("InlineList moves and copies inline and heap contents") {
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
        CAPTURE(n);
        {
            InlineList<Counted, 2> list;
            std::vector<std::string> expected;
            for (std::size_t i = 0; i < n; ++i) {
                list.push_back(Counted(std::to_string(i)));
                expected.push_back(std::to_string(i));
            }
            InlineList<Counted, 2> copy(list);
            CHECK(values(copy) == expected);
            InlineList<Counted, 2> moved(std::move(list));
            CHECK(values(moved) == expected);
            CHECK(list.empty());  // NOLINT(bugprone-use-after-move): a moved-from list is empty
            InlineList<Counted, 2> assigned;
            assigned.push_back(Counted("old"));
            assigned = std::move(moved);
            CHECK(values(assigned) == expected);
            assigned = copy;
            CHECK(values(assigned) == expected);
            CHECK(Counted::live == static_cast<int>(2 * n));
        }
        CHECK(Counted::live == 0);
    }
}

TEST_CASE("a TensorList converts to a GradList, so a VJP may return either") {
    auto a = rg::ones({2});
    rg::GradList from_list = rg::TensorList{a, rg::Tensor{}, a, a, a};
    CHECK(from_list.size() == 5);
    CHECK(from_list[0].same(a));
    CHECK_FALSE(from_list[1].defined());
    rg::GradList braced{a, rg::Tensor{}};
    CHECK(braced.size() == 2);
}

namespace {
// Its copy throws once `copies_left` copies have been made.
struct Fragile {
    static inline int live = 0;
    static inline int copies_left = 0;
    Fragile() { ++live; }
    Fragile(const Fragile&) {
        if (copies_left-- == 0) throw std::runtime_error("copy refused");
        ++live;
    }
    Fragile& operator=(const Fragile&) = default;
    ~Fragile() { --live; }
};
}  // namespace

TEST_CASE("an InlineList whose element copy throws releases what it made") {
    {
        const std::vector<Fragile> source(5);
        for (int allowed : {0, 1, 3}) {
            CAPTURE(allowed);
            Fragile::copies_left = allowed;  // the copy after `allowed` copies throws
            CHECK_THROWS_AS((InlineList<Fragile, 2>(source)), std::runtime_error);
            CHECK(Fragile::live == 5);  // only the source's
        }
    }
    CHECK(Fragile::live == 0);
}
