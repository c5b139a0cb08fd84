#include <benchmark/benchmark.h>

namespace dpql {
void RegisterCompilerBenchmarks();
}

int main(int argc, char** argv) {
  dpql::RegisterCompilerBenchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
