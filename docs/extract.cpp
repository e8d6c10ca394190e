// Extracts a tutorial's program and expected output from its Markdown page,
// so that ctest can build the program, run it and compare what it prints
// with what the page shows: the page cannot drift from the code.
//
// In a page, every fenced block opened with ```cpp program is part of the
// program (the blocks are joined in order), and every block opened with
// ```output is part of the expected output (joined likewise). Other blocks
// (```cpp, ```sh...) are illustration only.
//
// Usage: extract PAGE.md PROGRAM.cpp EXPECTED.txt
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: extract PAGE.md PROGRAM.cpp EXPECTED.txt\n";
        return 2;
    }
    std::ifstream page(argv[1]);
    if (!page) {
        std::cerr << "extract: cannot read " << argv[1] << "\n";
        return 1;
    }
    std::string program = "#line 1 \"" + std::string(argv[1]) + "\"\n", expected, line;
    enum { text, code, output, other } state = text;
    int line_number = 0, blocks = 0;
    while (std::getline(page, line)) {
        ++line_number;
        if (state == text && line.rfind("```", 0) == 0) {
            const std::string tag = line.substr(3);
            state = tag == "cpp program" ? code : tag == "output" ? output : other;
            if (state == code) {
                program += "#line " + std::to_string(line_number + 1) + "\n";
                ++blocks;
            }
        } else if (state != text && line.rfind("```", 0) == 0) {
            state = text;
        } else if (state == code) {
            program += line + "\n";
        } else if (state == output) {
            expected += line + "\n";
        }
    }
    if (blocks == 0) {
        std::cerr << "extract: " << argv[1] << " has no ```cpp program block\n";
        return 1;
    }
    std::ofstream(argv[2]) << program;
    std::ofstream(argv[3]) << expected;
    return 0;
}
