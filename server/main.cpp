// dpqld: the DPQL server, its admin CLI and the query compiler.
#include <iostream>
#include <string>
#include <vector>

#include "server/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return dpql::RunDpqld(args, std::cout, std::cerr);
}
