// Parse, bind, plan and SQL generation for every SELECT in the hospital
// example's queries.dpql: the work dpqld does before the database is asked.

#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Example {
  std::string name;
  std::string text;
};

// The example statements that compile (SELECT and EXPLAIN), named by line.
std::vector<Example> LoadExamples(const Dataset& dataset) {
  const std::string script = ReadFile(DPQL_SOURCE_DIR "/examples/hospital/queries.dpql");
  std::vector<Example> examples;
  for (const ast::Statement& statement : ParseScript(script)) {
    if (statement.kind != ast::StatementKind::kSelect) continue;
    try {
      CompileSelect(dataset, *statement.select);
    } catch (const std::exception&) {
      continue;  // examples of refusals
    }
    examples.push_back({"line" + std::to_string(statement.loc.line), statement.text});
  }
  return examples;
}

const Catalog& HospitalCatalog() {
  static const Catalog catalog = LoadCatalog(DPQL_SOURCE_DIR "/examples/hospital/catalog.yaml");
  return catalog;
}

void BM_Parse(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    ast::Statement statement = ParseStatement(text);
    benchmark::DoNotOptimize(statement);
  }
}

void BM_BindPlanSql(benchmark::State& state, const std::string& text) {
  const Dataset& dataset = *HospitalCatalog().DefaultDataset();
  ast::Statement statement = ParseStatement(text);
  for (auto _ : state) {
    Plan plan = CompileSelect(dataset, *statement.select);
    benchmark::DoNotOptimize(plan.sql);
  }
}

void BM_Compile(benchmark::State& state, const std::string& text) {
  const Dataset& dataset = *HospitalCatalog().DefaultDataset();
  for (auto _ : state) {
    ast::Statement statement = ParseStatement(text);
    Plan plan = CompileSelect(dataset, *statement.select);
    benchmark::DoNotOptimize(plan.sql);
  }
}

}  // namespace

// Called from main(): registering needs the parser, which must not run during
// static initialisation.
void RegisterCompilerBenchmarks() {
  for (const Example& example : LoadExamples(*HospitalCatalog().DefaultDataset())) {
    benchmark::RegisterBenchmark(("Parse/" + example.name).c_str(), BM_Parse, example.text);
    benchmark::RegisterBenchmark(("BindPlanSql/" + example.name).c_str(), BM_BindPlanSql, example.text);
    benchmark::RegisterBenchmark(("Compile/" + example.name).c_str(), BM_Compile, example.text);
  }
}

}  // namespace dpql
