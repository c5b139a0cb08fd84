// libFuzzer harness over the compiler: text --parse--> AST --bind--> BoundSelect
// --plan--> Plan --SQL--> EXPLAIN text, the path of `dpqld compile` and of
// EXPLAIN, against the hospital example catalog. No database is involved.
//
// A DpqlError is the expected answer to bad input and ends the run quietly
// (its caret rendering is exercised too). Anything else is a finding: another
// exception type escapes and aborts, and the sanitizers abort on memory errors,
// leaks and undefined behaviour. See docs/SECURITY.md, "Fuzzing and
// sanitizers", and scripts/fuzz.
//
// Every ASCII input is also a differential test of the two lexers: the
// hand-written ASCII lexer must produce exactly the generated ANTLR lexer's
// tokens (compiler/parser/ascii_lexer.h); a difference aborts.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/ascii_lexer.h"
#include "compiler/parser/parser.h"
#include "runtime/engine.h"

namespace dpql {
namespace {

// DPQL_FUZZ_CATALOG overrides the catalog the harness compiles against.
const Dataset& HospitalDataset() {
  static const Catalog catalog = [] {
    const char* path = std::getenv("DPQL_FUZZ_CATALOG");
    return LoadCatalog(path != nullptr ? path : DPQL_SOURCE_DIR "/examples/hospital/catalog.yaml");
  }();
  return *catalog.DefaultDataset();
}

// What `dpqld compile` does with one statement (Engine::Explain over Compile);
// the output is discarded but fully built, so every renderer runs.
void CompileStatement(const Dataset& dataset, const ast::Statement& statement) {
  if (Engine::Explain(dataset, statement).explain.empty()) std::abort();  // always rendered
}

void CompileText(std::string_view text) {
  const Dataset& dataset = HospitalDataset();
  try {
    std::vector<ast::Statement> statements = ParseScript(text);
    for (const ast::Statement& statement : statements) {
      try {
        CompileStatement(dataset, statement);
      } catch (const DpqlError& e) {
        (void)FormatError(e, text);  // each statement is compiled, as dpqld compile would
      }
    }
  } catch (const DpqlError& e) {
    (void)FormatError(e, text);
  }
}

void CompareLexers(std::string_view text) {
  if (!parser::IsAscii(text)) return;
  if (parser::LexWithAsciiLexer(text) != parser::LexWithGeneratedLexer(text)) std::abort();
}

}  // namespace
}  // namespace dpql

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  dpql::CompareLexers(text);
  dpql::CompileText(text);
  return 0;
}
