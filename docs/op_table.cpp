// Rewrites the op table of a Markdown page (docs/autodiff.md) from the op
// registry, between its two marker lines. Usage: op_table PAGE.md
#include <retrograd/registry.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: op_table PAGE.md\n";
        return 2;
    }
    std::ifstream in(argv[1]);
    std::stringstream text;
    text << in.rdbuf();
    std::string page = text.str();
    const std::string begin = "<!-- op table: generated from the registry -->\n", end = "<!-- end of op table -->";
    const auto from = page.find(begin), to = page.find(end);
    if (!in || from == std::string::npos || to == std::string::npos || to < from) {
        std::cerr << "op_table: " << argv[1] << " has no '" << begin.substr(0, begin.size() - 1) << "' ... '" << end
                  << "' section\n";
        return 1;
    }
    page.replace(from + begin.size(), to - from - begin.size(), rg::op_table_markdown());
    std::ofstream(argv[1]) << page;
    std::cout << "op_table: rewrote the table of " << rg::op_registry().size() << " ops in " << argv[1] << "\n";
}
