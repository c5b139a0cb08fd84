#include "compiler/catalog/catalog.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "compiler/catalog/catalog_parser.h"
#include "compiler/common/error.h"

// The catalog's model: its lookups, the absolute floors and ceilings of the
// privacy parameters, and the entry points that read a catalog file,
// validated in full (catalog_parser.h) before anything uses it.

namespace dpql {

const char* ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return "text";
    case ColumnType::kInt: return "int";
    case ColumnType::kReal: return "real";
    case ColumnType::kDate: return "date";
    case ColumnType::kBool: return "bool";
  }
  return "text";
}

namespace {

Rational PowerOfTen(int exponent) {
  const BigInt power = boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(std::abs(exponent)));
  return exponent < 0 ? Rational(BigInt(1), power) : Rational(power);
}

}  // namespace

Rational AbsoluteMinEpsilon() { return PowerOfTen(-6); }
Rational AbsoluteMaxEpsilon() { return Rational(100); }
Rational AbsoluteMinDelta() { return PowerOfTen(-20); }
Rational DefaultMinEpsilon() { return PowerOfTen(-3); }
Rational DefaultDatasetEpsilon() { return Rational(50); }
Rational DefaultDatasetDelta() { return PowerOfTen(-4); }
Rational MaxDatasetEpsilon() { return PowerOfTen(6); }
Rational MaxDatasetRho() { return PowerOfTen(6); }
Rational MaxConfidence() { return 1 - PowerOfTen(-9); }

const CatalogColumn* CatalogTable::FindColumn(std::string_view name) const {
  for (const CatalogColumn& column : columns) {
    if (EqualsIgnoreCase(column.name, name)) return &column;
  }
  return nullptr;
}

const CatalogTable* Dataset::FindTable(std::string_view name) const {
  for (const CatalogTable& table : tables) {
    if (EqualsIgnoreCase(table.name, name)) return &table;
  }
  return nullptr;
}

const Dataset* Catalog::FindDataset(std::string_view name) const {
  for (const Dataset& dataset : datasets) {
    if (EqualsIgnoreCase(dataset.name, name)) return &dataset;
  }
  return nullptr;
}

const Dataset* Catalog::DefaultDataset() const { return datasets.size() == 1 ? &datasets.front() : nullptr; }

Catalog ParseCatalog(std::string_view yaml_text, std::string_view source_name) {
  return CatalogParser(source_name).Parse(yaml_text);
}

Catalog LoadCatalog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DpqlError(ErrorCode::kCatalogFileError, "cannot read catalog file '" + path +
                                                      "': " + std::strerror(errno) +
                                                      "; check the path given as 'catalog' (or --catalog)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseCatalog(text.str(), path);
}

}  // namespace dpql
