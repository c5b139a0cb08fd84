// The catalog loader: the model catalog loads with the declared values, and
// every invalid catalog is refused with the code, file:line, key path and a
// fix in the message.

#include "compiler/catalog/catalog.h"

#include <gtest/gtest.h>

#include <string>

#include "compiler/common/error.h"

namespace dpql {
namespace {

// The repository root as configured by CMake (tests/CMakeLists.txt), so the
// test finds examples/ from any working directory. (__FILE__ is relative
// when ccache rewrites paths under its base directory.)
std::string RepoRoot() { return std::string(DPQL_SOURCE_DIR_DEFAULT "/"); }

// Raw strings in the tests start with a newline for readability; line 1 is
// the line after it.
std::string Yaml(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

Catalog Parse(std::string_view text) { return ParseCatalog(Yaml(text), "test.yaml"); }

// Asserts that `text` is refused with `code` at `line`, and that the message
// names the file and line and contains `phrase`.
void ExpectError(std::string_view text, const std::string& code, uint32_t line, const std::string& phrase) {
  try {
    Parse(text);
    ADD_FAILURE() << "expected error " << code << " at line " << line << ", but the catalog loaded";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCatalog);
    EXPECT_EQ(std::string(Name(e.code())), code) << e.message();
    EXPECT_EQ(e.location().line, line) << e.message();
    EXPECT_NE(e.message().find("test.yaml:" + std::to_string(line) + ": "), std::string::npos) << e.message();
    EXPECT_NE(e.message().find(phrase), std::string::npos)
        << "missing '" << phrase << "' in: " << e.message();
  }
}

// A valid minimal catalog, for the positive tests below.
constexpr std::string_view kMinimal = R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { type: int, lower: 0, upper: 110 }
)";

TEST(CatalogModel, HospitalCatalogLoadsWithDeclaredValues) {
  Catalog catalog = LoadCatalog(RepoRoot() + "examples/hospital/catalog.yaml");
  ASSERT_EQ(catalog.datasets.size(), 1u);
  const Dataset* hospital = catalog.DefaultDataset();
  ASSERT_NE(hospital, nullptr);
  EXPECT_EQ(hospital->name, "hospital");
  EXPECT_EQ(hospital->privacy_unit, "patient_id");
  EXPECT_EQ(hospital->defaults.epsilon, Rational(1));
  EXPECT_EQ(hospital->defaults.delta, Rational(1, 1000000));  // exact, from "1.0e-6"
  EXPECT_EQ(hospital->defaults.max_groups, 4);
  EXPECT_EQ(hospital->defaults.max_rows, 1);
  EXPECT_EQ(hospital->defaults.mechanism, Mechanism::kLaplace);
  EXPECT_EQ(hospital->defaults.confidence, Rational(95, 100));
  EXPECT_EQ(hospital->limits.max_epsilon_per_query, Rational(2));
  EXPECT_EQ(hospital->accounting, Accounting::kBasic);
  ASSERT_EQ(hospital->tables.size(), 3u);

  const CatalogTable* admissions = hospital->FindTable("admissions");
  ASSERT_NE(admissions, nullptr);
  EXPECT_TRUE(admissions->is_private);
  EXPECT_EQ(admissions->columns.size(), 12u);
  const CatalogColumn* age = admissions->FindColumn("age");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->type, ColumnType::kInt);
  ASSERT_TRUE(age->HasBounds());
  EXPECT_EQ(*age->lower, Rational(0));
  EXPECT_EQ(*age->upper, Rational(110));
  EXPECT_FALSE(age->HasDomain());
  const CatalogColumn* admitted = admissions->FindColumn("admitted_on");
  ASSERT_NE(admitted, nullptr);
  EXPECT_EQ(admitted->type, ColumnType::kDate);
  EXPECT_EQ(*admitted->lower, Rational(19723));  // 2024-01-01 is day 19723 after 1970-01-01
  EXPECT_EQ(*admitted->upper, Rational(20818));  // 2026-12-31
  EXPECT_EQ(admitted->lower_text, "2024-01-01");
  const CatalogColumn* sex = admissions->FindColumn("sex");
  ASSERT_NE(sex, nullptr);
  EXPECT_EQ(sex->domain, (std::vector<std::string>{"F", "M", "X"}));
  const CatalogColumn* method = admissions->FindColumn("admission_method");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ(method->domain, (std::vector<std::string>{"elective", "emergency", "maternity", "transfer"}));
  const CatalogColumn* ward = admissions->FindColumn("ward_code");
  ASSERT_NE(ward, nullptr);
  EXPECT_EQ(ward->domain_from_table, "wards");
  EXPECT_EQ(ward->domain_from_column, "ward_code");
  EXPECT_TRUE(ward->HasDomain());
  const CatalogColumn* postcode = admissions->FindColumn("postcode_district");
  ASSERT_NE(postcode, nullptr);
  EXPECT_FALSE(postcode->HasDomain());
  EXPECT_FALSE(postcode->HasBounds());

  const CatalogTable* wards = hospital->FindTable("wards");
  ASSERT_NE(wards, nullptr);
  EXPECT_FALSE(wards->is_private);
  const CatalogTable* bed_days = hospital->FindTable("bed_days");
  ASSERT_NE(bed_days, nullptr);
  EXPECT_TRUE(bed_days->is_private);
  const CatalogColumn* day = bed_days->FindColumn("day");
  ASSERT_NE(day, nullptr);
  EXPECT_EQ(day->type, ColumnType::kDate);
  EXPECT_EQ(*day->lower, Rational(19723));
  EXPECT_GT(day->line, 0);
}

TEST(CatalogModel, LookupsIgnoreCase) {
  Catalog catalog = Parse(kMinimal);
  EXPECT_NE(catalog.FindDataset("HOSPITAL"), nullptr);
  const Dataset& d = catalog.datasets[0];
  ASSERT_NE(d.FindTable("Admissions"), nullptr);
  EXPECT_NE(d.FindTable("Admissions")->FindColumn("AGE"), nullptr);
  EXPECT_EQ(d.FindTable("wards"), nullptr);
  EXPECT_EQ(d.FindTable("Admissions")->FindColumn("agee"), nullptr);
  EXPECT_EQ(catalog.FindDataset("clinic"), nullptr);
}

TEST(CatalogModel, BuiltInDefaultsApplyWhenOmitted) {
  Catalog catalog = Parse(kMinimal);
  const Dataset& d = catalog.datasets[0];
  EXPECT_EQ(d.defaults.epsilon, Rational(1));
  EXPECT_EQ(d.defaults.delta, Rational(0));
  EXPECT_EQ(d.limits.max_delta_per_query, Rational(1, 1000));
  EXPECT_TRUE(d.tables[0].is_private);  // private unless declared otherwise
  EXPECT_EQ(d.tables[0].line, 5);
  EXPECT_EQ(d.tables[0].columns[1].line, 8);
}

TEST(CatalogModel, TwoDatasetsHaveNoDefault) {
  Catalog catalog = Parse(R"(
datasets:
  a: { privacy_unit: id, tables: { t: { columns: { id: { type: int } } } } }
  b: { privacy_unit: id, tables: { t: { columns: { id: { type: int } } } } }
)");
  EXPECT_EQ(catalog.datasets.size(), 2u);
  EXPECT_EQ(catalog.DefaultDataset(), nullptr);
  EXPECT_NE(catalog.FindDataset("b"), nullptr);
}

TEST(CatalogModel, TypeAliasesMapToTheFiveTypes) {
  Catalog catalog = Parse(R"(
datasets:
  d:
    privacy_unit: id
    tables:
      t:
        columns:
          id: { type: bigint }
          a: { type: INTEGER }
          b: { type: double, lower: -1.5, upper: 2.5e1 }
          c: { type: varchar }
          e: { type: boolean }
          f: { type: numeric }
)");
  const CatalogTable& t = catalog.datasets[0].tables[0];
  EXPECT_EQ(t.columns[0].type, ColumnType::kInt);
  EXPECT_EQ(t.columns[1].type, ColumnType::kInt);
  EXPECT_EQ(t.columns[2].type, ColumnType::kReal);
  EXPECT_EQ(*t.columns[2].lower, Rational(-3, 2));
  EXPECT_EQ(*t.columns[2].upper, Rational(25));
  EXPECT_EQ(t.columns[3].type, ColumnType::kText);
  EXPECT_EQ(t.columns[4].type, ColumnType::kBool);
  EXPECT_EQ(t.columns[5].type, ColumnType::kReal);
  EXPECT_STREQ(ColumnTypeName(ColumnType::kReal), "real");
  EXPECT_STREQ(ColumnTypeName(ColumnType::kDate), "date");
}

TEST(CatalogModel, AllPrivacySettingsAreParsedExactly) {
  Catalog catalog = Parse(R"(
datasets:
  d:
    privacy_unit: id
    defaults: { epsilon: 0.1, delta: 1e-9, max_groups: 8, max_rows: 2, confidence: 0.9, mechanism: gaussian }
    limits: { max_epsilon_per_query: 0.5, max_delta_per_query: 1.0e-7, max_groups: 16, max_rows: 4 }
    accounting: zcdp
    tables: { t: { columns: { id: { type: int } } } }
)");
  const Dataset& d = catalog.datasets[0];
  EXPECT_EQ(d.defaults.epsilon, Rational(1, 10));
  EXPECT_EQ(d.defaults.delta, Rational(1, 1000000000));
  EXPECT_EQ(d.defaults.max_groups, 8);
  EXPECT_EQ(d.defaults.max_rows, 2);
  EXPECT_EQ(d.defaults.confidence, Rational(9, 10));
  EXPECT_EQ(d.defaults.mechanism, Mechanism::kGaussian);
  EXPECT_EQ(d.limits.max_epsilon_per_query, Rational(1, 2));
  EXPECT_EQ(d.limits.max_delta_per_query, Rational(1, 10000000));
  EXPECT_EQ(d.limits.max_groups, 16);
  EXPECT_EQ(d.limits.max_rows, 4);
  EXPECT_EQ(d.accounting, Accounting::kZcdp);
}

TEST(CatalogModel, IntDomainsAreCanonicalised) {
  Catalog catalog = Parse(R"(
datasets:
  d:
    privacy_unit: id
    tables: { t: { columns: { id: { type: int }, stage: { type: int, domain: [1, 2, 3] } } } }
)");
  EXPECT_EQ(catalog.datasets[0].tables[0].columns[1].domain, (std::vector<std::string>{"1", "2", "3"}));
}

// ---- Syntax and shape ----

TEST(CatalogSyntax, YamlSyntaxErrorNamesTheLine) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables: { admissions: { columns: { patient_id: { type: text } }
)",
              "catalog_syntax_error", 5, "YAML syntax error");
}

TEST(CatalogSyntax, EmptyFileIsRefused) { ExpectError("", "catalog_missing_key", 1, "'datasets:'"); }

TEST(CatalogSyntax, ColumnWrittenAsBareTypeIsRefused) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: text
)",
              "catalog_wrong_shape", 7, "'{ type: text }'");
}

TEST(CatalogSyntax, TablesAsListIsRefused) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables: [admissions, wards]
)",
              "catalog_wrong_shape", 4, "got a list");
}

TEST(CatalogFile, MissingFileIsRefused) {
  try {
    LoadCatalog("/nonexistent/dir/catalog.yaml");
    ADD_FAILURE() << "expected catalog_file_error";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCatalog);
    EXPECT_EQ(std::string(Name(e.code())), "catalog_file_error");
    EXPECT_NE(e.message().find("/nonexistent/dir/catalog.yaml"), std::string::npos);
  }
}

// ---- Unknown, missing and duplicate keys ----

TEST(CatalogKeys, UnknownColumnKeySuggestsTheRightOne) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { type: int, lowr: 0, upper: 110 }
)",
              "catalog_unknown_key", 8,
              "datasets.hospital.tables.admissions.columns.age: unknown key 'lowr' (did you mean 'lower'?); "
              "expected one of type, lower, upper, domain, domain_from");
}

TEST(CatalogKeys, UnknownTopLevelKey) {
  ExpectError(R"(
version: 2
datasets:
  hospital: { privacy_unit: id, tables: { t: { columns: { id: { type: int } } } } }
)",
              "catalog_unknown_key", 1, "unknown key 'version'; expected one of datasets");
}

TEST(CatalogKeys, UnknownDatasetKey) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    budget: 10
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_unknown_key", 4, "datasets.hospital: unknown key 'budget'");
}

TEST(CatalogKeys, UnknownDefaultsKey) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    defaults: { epsilon: 1.0, max_group: 4 }
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_unknown_key", 4, "did you mean 'max_groups'?");
}

TEST(CatalogKeys, UnknownLimitsKey) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    limits: { max_epsilon: 2.0 }
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_unknown_key", 4,
              "expected one of min_epsilon_per_query, max_epsilon_per_query, min_delta_per_query, "
              "max_delta_per_query, max_groups, max_rows, dataset_epsilon");
}

TEST(CatalogKeys, UnknownTableKey) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      t:
        public: true
        columns: { patient_id: { type: text } }
)",
              "catalog_unknown_key", 6, "unknown key 'public'; expected one of private, columns");
}

TEST(CatalogKeys, MissingDatasets) {
  ExpectError(R"(
# a catalog without datasets
hospital:
  privacy_unit: patient_id
)",
              "catalog_unknown_key", 2, "unknown key 'hospital'");
  ExpectError("{}\n", "catalog_missing_key", 1, "missing key 'datasets'");
}

TEST(CatalogKeys, MissingPrivacyUnit) {
  ExpectError(R"(
datasets:
  hospital:
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_missing_key", 2, "missing key 'privacy_unit'");
}

TEST(CatalogKeys, MissingTables) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
)",
              "catalog_missing_key", 2, "datasets.hospital: missing key 'tables'");
}

TEST(CatalogKeys, MissingColumns) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      t:
        private: false
)",
              "catalog_missing_key", 5, "missing key 'columns'");
}

TEST(CatalogKeys, MissingType) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { lower: 0, upper: 110 }
)",
              "catalog_missing_key", 8, "columns.age: missing key 'type'");
}

TEST(CatalogKeys, DuplicateKeyInAMapping) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    defaults:
      epsilon: 1.0
      epsilon: 0.5
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_duplicate_key", 6, "duplicate key 'epsilon' (first given on line 5)");
}

TEST(CatalogKeys, DuplicateTableNamesIgnoringCase) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns: { patient_id: { type: text } }
      Admissions:
        columns: { patient_id: { type: text } }
)",
              "catalog_duplicate_key", 7, "table 'Admissions' is declared twice");
}

TEST(CatalogKeys, DuplicateColumnNamesIgnoringCase) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          AGE: { type: int }
          age: { type: int }
)",
              "catalog_duplicate_key", 9, "column 'age' is declared twice (also as 'AGE' on line 8");
}

TEST(CatalogKeys, EmptyDatasets) {
  ExpectError(R"(
datasets: {}
)",
              "catalog_empty", 1, "no datasets declared");
}

TEST(CatalogKeys, EmptyTables) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
)",
              "catalog_empty", 4, "no tables declared");
}

TEST(CatalogKeys, EmptyColumns) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      wards: { private: false, columns: {} }
)",
              "catalog_empty", 5, "no columns declared");
}

// ---- Identifiers ----

TEST(CatalogIdentifiers, TableNameMustBeAPlainIdentifier) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      bed-days:
        columns: { patient_id: { type: text } }
)",
              "catalog_invalid_identifier", 5, "'bed-days' is not a plain SQL identifier");
}

TEST(CatalogIdentifiers, ColumnNameWithQuoteIsRefused) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      t:
        columns:
          patient_id: { type: text }
          'a"b': { type: int }
)",
              "catalog_invalid_identifier", 8, "column name 'a\"b'");
}

TEST(CatalogIdentifiers, NameStartingWithDigitIsRefused) {
  ExpectError(R"(
datasets:
  2024data:
    privacy_unit: patient_id
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_invalid_identifier", 2, "dataset name '2024data'");
}

TEST(CatalogIdentifiers, PrivacyUnitMustBeAPlainIdentifier) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient id
    tables: { t: { columns: { patient_id: { type: text } } } }
)",
              "catalog_invalid_identifier", 3, "datasets.hospital.privacy_unit: 'patient id'");
}

// ---- Types and bounds ----

TEST(CatalogColumns, UnknownType) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { type: integr }
)",
              "catalog_unknown_type", 8,
              "unknown type 'integr'; expected one of text, int, real, date, bool");
}

TEST(CatalogColumns, LowerAboveUpper) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age:
            type: int
            lower: 110
            upper: 0
)",
              "catalog_invalid_bounds", 11, "lower (110) is greater than upper (0)");
}

TEST(CatalogColumns, DateLowerAboveUpper) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          admitted_on: { type: date, lower: 2026-12-31, upper: 2024-01-01 }
)",
              "catalog_invalid_bounds", 8, "swap them");
}

TEST(CatalogColumns, BoundsOnTextColumn) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          sex: { type: text, lower: A, upper: Z }
)",
              "catalog_invalid_bounds", 8, "a text column cannot have bounds");
}

TEST(CatalogColumns, BoundsOnBoolColumn) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          readmitted: { type: bool, lower: 0, upper: 1 }
)",
              "catalog_invalid_bounds", 8, "a bool column cannot have bounds");
}

TEST(CatalogColumns, NonNumericBound) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { type: int, lower: zero, upper: 110 }
)",
              "catalog_invalid_value", 8, "columns.age.lower: expected a number, got 'zero'");
}

TEST(CatalogColumns, FractionalBoundOnIntColumn) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { type: int, lower: 0, upper: 110.5 }
)",
              "catalog_invalid_value", 8, "must be a whole number, got '110.5'");
}

// Bounds beyond a bigint would make a variance's interval leave double
// precision, so the query would fail after its debit: refused at load.
TEST(CatalogColumns, BoundBeyondABigintIsRefused) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          income: { type: real, lower: 0, upper: 1e300 }
)",
              "catalog_out_of_range", 8, "columns.income.upper: a bound must lie within");
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          n: { type: int, lower: -9223372036854775808, upper: 0 }
)",
              "catalog_out_of_range", 8, "(a bigint's range)");
  // The extremes themselves are accepted.
  Catalog catalog = Parse(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          n: { type: int, lower: -9223372036854775807, upper: 9223372036854775807 }
)");
  EXPECT_EQ(*catalog.datasets.at(0).tables.at(0).FindColumn("n")->upper,
            Rational(BigInt("9223372036854775807")));
}

TEST(CatalogColumns, OnlyOneBound) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          age: { type: int, lower: 0 }
)",
              "catalog_invalid_bounds", 8, "'lower' without 'upper'; declare both bounds or neither");
}

TEST(CatalogColumns, DateNotInIsoFormat) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          admitted_on: { type: date, lower: 01/01/2024, upper: 2026-12-31 }
)",
              "catalog_invalid_value", 8,
              "expected a date written yyyy-mm-dd (e.g. 2024-01-01), got '01/01/2024'");
}

TEST(CatalogColumns, ImpossibleCalendarDate) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          admitted_on: { type: date, lower: 2024-01-01, upper: 2025-02-29 }
)",
              "catalog_invalid_value", 8, "'2025-02-29' is not a calendar date");
}

TEST(CatalogColumns, LeapDayIsADate) {
  Catalog catalog = Parse(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          admitted_on: { type: date, lower: 1970-01-01, upper: 2024-02-29 }
)");
  const CatalogColumn& c = catalog.datasets[0].tables[0].columns[1];
  EXPECT_EQ(*c.lower, Rational(0));
  EXPECT_EQ(*c.upper, Rational(19782));  // 2024-01-01 (19723) + 59 days
}

// ---- Privacy unit ----

TEST(CatalogPrivacyUnit, PrivateTableWithoutThePrivacyUnit) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns: { patient_id: { type: text } }
      bed_days:
        columns: { ward_code: { type: text }, day: { type: date } }
)",
              "catalog_privacy_unit", 7, "private table 'bed_days' has no column 'patient_id'");
}

TEST(CatalogPrivacyUnit, PublicTableNeedNotHoldIt) {
  Catalog catalog = Parse(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions: { columns: { patient_id: { type: text } } }
      wards: { private: false, columns: { ward_code: { type: text } } }
)");
  EXPECT_FALSE(catalog.datasets[0].tables[1].is_private);
}

TEST(CatalogPrivacyUnit, PrivacyUnitMustBeTextOrInt) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: date }
)",
              "catalog_privacy_unit", 7, "must be of type text or int, not date");
}

TEST(CatalogPrivacyUnit, PrivacyUnitCannotHaveADomain) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text, domain: [P1, P2] }
)",
              "catalog_privacy_unit", 7, "cannot have a public domain");
}

TEST(CatalogPrivacyUnit, PrivateMustBeTrueOrFalse) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      wards:
        private: nope
        columns: { ward_code: { type: text } }
)",
              "catalog_invalid_value", 6, "expected true or false, got 'nope'");
}

// ---- Domains ----

constexpr std::string_view kWardsAndDomainFrom = R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      wards:
        private: false
        columns: { ward_code: { type: text } }
      admissions:
        columns:
          patient_id: { type: text }
          ward_code: { type: text, domain_from: %s }
)";

std::string WithDomainFrom(const std::string& target) {
  std::string text(kWardsAndDomainFrom);
  return text.replace(text.find("%s"), 2, target);
}

TEST(CatalogDomains, DomainFromResolves) {
  Catalog catalog = ParseCatalog(Yaml(WithDomainFrom("WARDS.ward_code")), "test.yaml");
  const CatalogColumn* ward = catalog.datasets[0].FindTable("admissions")->FindColumn("ward_code");
  EXPECT_EQ(ward->domain_from_table, "WARDS");
  EXPECT_EQ(ward->domain_from_column, "ward_code");
}

TEST(CatalogDomains, DomainFromMissingTable) {
  ExpectError(WithDomainFrom("ward.ward_code"), "catalog_invalid_domain", 11,
              "table 'ward' is not declared in dataset 'hospital'");
}

TEST(CatalogDomains, DomainFromMissingColumn) {
  ExpectError(WithDomainFrom("wards.code"), "catalog_invalid_domain", 11,
              "table 'wards' has no column 'code'");
}

TEST(CatalogDomains, DomainFromWithoutDot) {
  ExpectError(WithDomainFrom("wards"), "catalog_invalid_domain", 11, "expected 'table.column'");
}

TEST(CatalogDomains, DomainFromPrivateTable) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          ward_code: { type: text }
      bed_days:
        columns:
          patient_id: { type: text }
          ward_code: { type: text, domain_from: admissions.ward_code }
)",
              "catalog_invalid_domain", 12, "'admissions.ward_code' is in a private table");
}

TEST(CatalogDomains, DomainFromOfAnotherType) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      wards: { private: false, columns: { beds: { type: int } } }
      admissions:
        columns:
          patient_id: { type: text }
          ward_code: { type: text, domain_from: wards.beds }
)",
              "catalog_invalid_domain", 9, "'wards.beds' is int but this column is text");
}

TEST(CatalogDomains, BothDomainAndDomainFrom) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      wards: { private: false, columns: { ward_code: { type: text } } }
      admissions:
        columns:
          patient_id: { type: text }
          ward_code: { type: text, domain: [A1, B2], domain_from: wards.ward_code }
)",
              "catalog_invalid_domain", 9, "both 'domain' and 'domain_from' given; keep one");
}

TEST(CatalogDomains, EmptyDomain) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          sex: { type: text, domain: [] }
)",
              "catalog_invalid_domain", 8, "the domain is empty");
}

TEST(CatalogDomains, DuplicateDomainValue) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          sex:
            type: text
            domain:
              - F
              - M
              - F
)",
              "catalog_invalid_domain", 13, "duplicate domain value 'F' (already listed on line 11)");
}

TEST(CatalogDomains, DuplicateIntDomainValueAfterCanonicalisation) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          stage: { type: int, domain: [1, 2, 01] }
)",
              "catalog_invalid_domain", 8, "duplicate domain value '01'");
}

TEST(CatalogDomains, DomainNotAList) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          sex: { type: text, domain: F }
)",
              "catalog_invalid_domain", 8, "expected a list of the column's public values");
}

TEST(CatalogDomains, NullDomainValue) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          sex: { type: text, domain: [F, ~] }
)",
              "catalog_invalid_domain", 8, "domain values must be plain values");
}

TEST(CatalogDomains, DomainOnRealColumn) {
  ExpectError(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    tables:
      admissions:
        columns:
          patient_id: { type: text }
          weight: { type: real, domain: [1.5, 2.5] }
)",
              "catalog_invalid_domain", 8, "BUCKET(x, width)");
}

// ---- Privacy defaults and limits ----

// A dataset whose defaults/limits/accounting lines are `settings` (line 4 on).
std::string WithSettings(const std::string& settings) {
  return "datasets:\n  hospital:\n    privacy_unit: patient_id\n" + settings +
         "    tables: { t: { columns: { patient_id: { type: text } } } }\n";
}

TEST(CatalogPrivacy, EpsilonMustBePositive) {
  ExpectError(WithSettings("    defaults: { epsilon: 0 }\n"), "catalog_out_of_range", 4,
              "defaults.epsilon: must be greater than 0, got '0'");
  ExpectError(WithSettings("    defaults: { epsilon: -1 }\n"), "catalog_out_of_range", 4, "greater than 0");
}

TEST(CatalogPrivacy, EpsilonMustBeANumber) {
  ExpectError(WithSettings("    defaults: { epsilon: one }\n"), "catalog_invalid_value", 4,
              "expected a number, got 'one'");
  ExpectError(WithSettings("    defaults: { epsilon: .inf }\n"), "catalog_invalid_value", 4, "got '.inf'");
}

TEST(CatalogPrivacy, DeltaMustBeBelowOne) {
  ExpectError(WithSettings("    defaults: { delta: 1 }\n    limits: { max_delta_per_query: 0.5 }\n"),
              "catalog_out_of_range", 4, "defaults.delta: must be at least 0 and less than 1");
  ExpectError(WithSettings("    defaults: { delta: -1e-6 }\n"), "catalog_out_of_range", 4, "at least 0");
}

TEST(CatalogPrivacy, MaxGroupsAndRowsMustBeAtLeastOne) {
  ExpectError(WithSettings("    defaults: { max_groups: 0 }\n"), "catalog_out_of_range", 4,
              "defaults.max_groups: must be a whole number of at least 1, got '0'");
  ExpectError(WithSettings("    defaults: { max_rows: 1.5 }\n"), "catalog_out_of_range", 4,
              "defaults.max_rows: must be a whole number of at least 1");
}

TEST(CatalogPrivacy, ConfidenceMustBeBetweenZeroAndOne) {
  ExpectError(WithSettings("    defaults: { confidence: 95 }\n"), "catalog_out_of_range", 4,
              "defaults.confidence: must be above 0 and at most 0.999999999, e.g. 0.95");
  ExpectError(WithSettings("    defaults: { confidence: 1 }\n"), "catalog_out_of_range", 4, "e.g. 0.95");
  ExpectError(WithSettings("    defaults: { confidence: 0.9999999999 }\n"), "catalog_out_of_range", 4,
              "at most 0.999999999");
}

TEST(CatalogPrivacy, UnknownMechanism) {
  ExpectError(WithSettings("    defaults: { mechanism: exponential }\n"), "catalog_invalid_value", 4,
              "unknown mechanism 'exponential'; expected laplace, gaussian or auto");
}

TEST(CatalogPrivacy, GaussianNeedsDelta) {
  ExpectError(WithSettings("    defaults: { mechanism: gaussian }\n"), "catalog_out_of_range", 4,
              "the gaussian mechanism needs delta > 0");
}

TEST(CatalogPrivacy, UnknownAccounting) {
  ExpectError(WithSettings("    accounting: rdp\n"), "catalog_invalid_value", 4,
              "unknown accounting 'rdp'; expected basic or zcdp");
}

TEST(CatalogPrivacy, DefaultEpsilonAboveDeclaredLimit) {
  ExpectError(WithSettings("    defaults: { epsilon: 3 }\n    limits: { max_epsilon_per_query: 2.0 }\n"),
              "catalog_above_limit", 4,
              "default epsilon 3 is above limits.max_epsilon_per_query (line 5) = 2");
}

TEST(CatalogPrivacy, DefaultDeltaAboveBuiltInLimit) {
  ExpectError(WithSettings("    defaults: { delta: 0.01 }\n"), "catalog_above_limit", 4,
              "above the built-in limits.max_delta_per_query");
}

TEST(CatalogPrivacy, DefaultMaxGroupsAboveLimit) {
  ExpectError(WithSettings("    defaults: { max_groups: 10 }\n    limits: { max_groups: 8 }\n"),
              "catalog_above_limit", 4, "default max_groups 10 is above limits.max_groups (line 5) = 8");
}

TEST(CatalogPrivacy, LimitsOutOfRange) {
  ExpectError(WithSettings("    limits: { max_epsilon_per_query: 0 }\n"), "catalog_out_of_range", 4,
              "limits.max_epsilon_per_query: must be greater than 0");
  ExpectError(WithSettings("    limits: { max_delta_per_query: 1 }\n"), "catalog_out_of_range", 4,
              "limits.max_delta_per_query: must be at least 0 and less than 1");
  ExpectError(WithSettings("    limits: { max_rows: 0 }\n"), "catalog_out_of_range", 4,
              "limits.max_rows: must be a whole number of at least 1");
}

// The per-query floors and ceilings of epsilon and delta (docs/LANGUAGE.md,
// "WITH PRIVACY"): a catalog's limits must lie within the absolute ones and
// its defaults within its limits.
TEST(CatalogPrivacy, EpsilonLimitsLieWithinTheAbsoluteRange) {
  for (const char* value : {"1e300", "1e400", "100.000001", "1000"}) {
    SCOPED_TRACE(value);
    ExpectError(WithSettings(std::string("    limits: { max_epsilon_per_query: ") + value + " }\n"),
                "catalog_out_of_range", 4,
                "limits.max_epsilon_per_query: must be from 0.000001 to 100 (the absolute range");
  }
  for (const char* value : {"1e-400", "5e-324", "1e-300", "0.00000099"}) {
    SCOPED_TRACE(value);
    ExpectError(WithSettings(std::string("    defaults: { epsilon: 0.01 }\n    limits: { "
                                         "min_epsilon_per_query: ") +
                             value + " }\n"),
                "catalog_out_of_range", 5, "limits.min_epsilon_per_query: must be from 0.000001 to 100");
  }
  ExpectError(WithSettings("    limits: { min_epsilon_per_query: 0 }\n"), "catalog_out_of_range", 4,
              "limits.min_epsilon_per_query: must be greater than 0");
  ExpectError(WithSettings("    defaults: { epsilon: 0.5 }\n"
                           "    limits: { min_epsilon_per_query: 0.5, max_epsilon_per_query: 0.4 }\n"),
              "catalog_out_of_range", 5, "min_epsilon_per_query (0.5) is above max_epsilon_per_query (0.4)");
  // The built-in default epsilon 1 must fit declared limits too.
  ExpectError(WithSettings("    limits: { max_epsilon_per_query: 0.5 }\n"), "catalog_missing_key", 4,
              "the built-in default epsilon 1 is outside limits.min_epsilon_per_query .. "
              "max_epsilon_per_query (0.001 .. 0.5); declare defaults.epsilon");
  ExpectError(WithSettings("    defaults: { epsilon: 0.0005 }\n"), "catalog_below_limit", 4,
              "default epsilon 0.0005 is below the built-in limits.min_epsilon_per_query = 0.001");
  ExpectError(WithSettings("    defaults: { epsilon: 0.02 }\n    limits: { min_epsilon_per_query: 0.05 }\n"),
              "catalog_below_limit", 4, "below limits.min_epsilon_per_query (line 5) = 0.05");
}

TEST(CatalogPrivacy, DeltaLimitsLieWithinTheAbsoluteRange) {
  for (const char* value : {"1e-400", "5e-324", "1e-300", "9.9e-21", "0"}) {
    SCOPED_TRACE(value);
    ExpectError(WithSettings(std::string("    limits: { min_delta_per_query: ") + value + " }\n"),
                "catalog_out_of_range", 4,
                "limits.min_delta_per_query: must be at least 1e-20 (the absolute floor");
  }
  ExpectError(WithSettings("    limits: { min_delta_per_query: 1e-5, max_delta_per_query: 1e-6 }\n"),
              "catalog_out_of_range", 4, "min_delta_per_query (1e-05) is above max_delta_per_query");
  // A default delta below the floor (but not 0) is refused; 0 stays allowed.
  for (const char* value : {"1e-400", "5e-324", "1e-21"}) {
    SCOPED_TRACE(value);
    ExpectError(WithSettings(std::string("    defaults: { delta: ") + value + " }\n"), "catalog_below_limit",
                4, "is below the built-in limits.min_delta_per_query = 1e-20; use 0 (no delta)");
  }
  ExpectError(WithSettings("    defaults: { delta: 1e-9 }\n    limits: { min_delta_per_query: 1e-8 }\n"),
              "catalog_below_limit", 4, "below limits.min_delta_per_query (line 5)");
  Catalog zero = ParseCatalog(WithSettings("    defaults: { delta: 0 }\n"
                                           "    limits: { max_delta_per_query: 0 }\n"),
                              "t.yaml");
  EXPECT_EQ(zero.datasets[0].defaults.delta, 0);
}

TEST(CatalogPrivacy, PerQueryRangesAreParsedExactly) {
  Catalog catalog =
      ParseCatalog(WithSettings("    defaults: { epsilon: 0.25, delta: 1e-9 }\n"
                                "    limits: { min_epsilon_per_query: 0.000001, max_epsilon_per_query: 100, "
                                "min_delta_per_query: 1e-12 }\n"),
                   "t.yaml");
  const PrivacyLimits& l = catalog.datasets[0].limits;
  EXPECT_EQ(l.min_epsilon_per_query, Rational(1, 1000000));
  EXPECT_EQ(l.max_epsilon_per_query, Rational(100));
  EXPECT_EQ(l.min_delta_per_query, Rational(1, 1000000000000));
  // The built-in values.
  const PrivacyLimits built_in = ParseCatalog(WithSettings(""), "t.yaml").datasets[0].limits;
  EXPECT_EQ(built_in.min_epsilon_per_query, Rational(1, 1000));
  EXPECT_EQ(built_in.min_delta_per_query, Rational(BigInt(1), boost::multiprecision::pow(BigInt(10), 20)));
  EXPECT_EQ(AbsoluteMinEpsilon(), Rational(1, 1000000));
  EXPECT_EQ(AbsoluteMaxEpsilon(), Rational(100));
}

// ---- zCDP accounting and dataset-wide caps ----

TEST(CatalogPrivacy, ZcdpNeedsAPositiveDefaultDelta) {
  ExpectError(WithSettings("    accounting: zcdp\n"), "catalog_out_of_range", 4,
              "accounting: zcdp needs defaults.delta > 0");
  ExpectError(WithSettings("    defaults: { delta: 0 }\n    accounting: zcdp\n"), "catalog_out_of_range", 5,
              "rho budgets are shown as (epsilon, delta) at that delta");
}

TEST(CatalogPrivacy, DatasetRhoNeedsZcdp) {
  ExpectError(WithSettings("    limits: { dataset_rho: 1 }\n"), "catalog_invalid_value", 4,
              "limits.dataset_rho: dataset_rho is a zCDP budget; it needs 'accounting: zcdp'");
}

TEST(CatalogPrivacy, ZcdpCapIsEitherRhoOrEpsilon) {
  ExpectError(WithSettings("    defaults: { delta: 1e-6 }\n    accounting: zcdp\n"
                           "    limits: { dataset_rho: 1, dataset_epsilon: 5 }\n"),
              "catalog_invalid_value", 6, "either as dataset_rho or as dataset_epsilon");
  ExpectError(WithSettings("    defaults: { delta: 1e-6 }\n    accounting: zcdp\n"
                           "    limits: { dataset_delta: 1e-6 }\n"),
              "catalog_missing_key", 6, "dataset_delta only qualifies dataset_epsilon");
  ExpectError(WithSettings("    defaults: { delta: 1e-6 }\n    accounting: zcdp\n"
                           "    limits: { dataset_epsilon: 5, dataset_delta: 0 }\n"),
              "catalog_out_of_range", 6, "needs dataset_delta > 0");
}

// limits.dataset_period: the dataset-wide cap per calendar period.
TEST(CatalogPrivacy, DatasetPeriodIsACalendarPeriod) {
  EXPECT_EQ(ParseCatalog(WithSettings(""), "t.yaml").datasets[0].limits.dataset_period, BudgetPeriod::kNone);
  Catalog monthly = ParseCatalog(WithSettings("    limits: { dataset_epsilon: 20, dataset_period: month }\n"), "t.yaml");
  EXPECT_EQ(monthly.datasets[0].limits.dataset_period, BudgetPeriod::kMonth);
  EXPECT_EQ(*monthly.datasets[0].limits.dataset_epsilon, Rational(20));
  ExpectError(WithSettings("    limits: { dataset_period: fortnight }\n"), "catalog_invalid_value", 4,
              "unknown period 'fortnight'; expected day, week, month or year");
}

TEST(CatalogPrivacy, DatasetCapsOutOfRange) {
  ExpectError(WithSettings("    limits: { dataset_epsilon: 0 }\n"), "catalog_out_of_range", 4,
              "limits.dataset_epsilon: must be greater than 0");
  ExpectError(WithSettings("    limits: { dataset_delta: 1 }\n"), "catalog_out_of_range", 4,
              "limits.dataset_delta: must be at least 0 and less than 1");
}

// Without a declared cap a dataset still has one (docs/OPERATIONS.md): basic
// accounting epsilon 50 and delta 1e-4, zCDP the rho implying (50,
// defaults.delta). Each component left out gets its default; only an explicit
// 'unlimited' removes it.
TEST(CatalogPrivacy, DefaultDatasetCapAppliesUnlessDeclared) {
  const PrivacyLimits none = ParseCatalog(WithSettings(""), "t.yaml").datasets[0].limits;
  ASSERT_TRUE(none.dataset_epsilon.has_value());
  ASSERT_TRUE(none.dataset_delta.has_value());
  EXPECT_EQ(*none.dataset_epsilon, Rational(50));
  EXPECT_EQ(*none.dataset_delta, Rational(1, 10000));
  EXPECT_FALSE(none.dataset_rho.has_value());

  const PrivacyLimits only_epsilon =
      ParseCatalog(WithSettings("    limits: { dataset_epsilon: 80 }\n"), "t.yaml").datasets[0].limits;
  EXPECT_EQ(*only_epsilon.dataset_epsilon, Rational(80));
  EXPECT_EQ(*only_epsilon.dataset_delta, Rational(1, 10000));

  const PrivacyLimits unlimited =
      ParseCatalog(WithSettings("    limits: { dataset_epsilon: unlimited, dataset_delta: Unlimited }\n"),
                   "t.yaml")
          .datasets[0]
          .limits;
  EXPECT_FALSE(unlimited.dataset_epsilon.has_value());
  EXPECT_FALSE(unlimited.dataset_delta.has_value());
  const PrivacyLimits half =
      ParseCatalog(WithSettings("    limits: { dataset_delta: unlimited }\n"), "t.yaml").datasets[0].limits;
  EXPECT_EQ(*half.dataset_epsilon, Rational(50));
  EXPECT_FALSE(half.dataset_delta.has_value());

  // zCDP: the default is dataset_epsilon 50 at defaults.delta.
  const Dataset zcdp =
      ParseCatalog(WithSettings("    defaults: { delta: 1e-6 }\n    accounting: zcdp\n"), "t.yaml")
          .datasets[0];
  EXPECT_EQ(*zcdp.limits.dataset_epsilon, Rational(50));
  EXPECT_FALSE(zcdp.limits.dataset_delta.has_value());
  EXPECT_FALSE(zcdp.limits.dataset_rho.has_value());
  const Dataset zcdp_rho =
      ParseCatalog(
          WithSettings(
              "    defaults: { delta: 1e-6 }\n    accounting: zcdp\n    limits: { dataset_rho: 2 }\n"),
          "t.yaml")
          .datasets[0];
  EXPECT_FALSE(zcdp_rho.limits.dataset_epsilon.has_value());
  EXPECT_EQ(*zcdp_rho.limits.dataset_rho, Rational(2));
  for (const char* key : {"dataset_rho", "dataset_epsilon"}) {
    const Dataset open = ParseCatalog(WithSettings(std::string("    defaults: { delta: 1e-6 }\n    "
                                                               "accounting: zcdp\n    limits: { ") +
                                                   key + ": unlimited }\n"),
                                      "t.yaml")
                             .datasets[0];
    EXPECT_FALSE(open.limits.dataset_epsilon.has_value()) << key;
    EXPECT_FALSE(open.limits.dataset_rho.has_value()) << key;
  }
  ExpectError(WithSettings("    defaults: { delta: 1e-6 }\n    accounting: zcdp\n"
                           "    limits: { dataset_epsilon: 5, dataset_delta: unlimited }\n"),
              "catalog_invalid_value", 6, "so it cannot be 'unlimited'");
  ExpectError(WithSettings("    limits: { dataset_rho: unlimited }\n"), "catalog_invalid_value", 4,
              "it needs 'accounting: zcdp'");
  ExpectError(WithSettings("    limits: { dataset_epsilon: none }\n"), "catalog_invalid_value", 4,
              "expected a number, got 'none'");
  ExpectError(WithSettings("    limits: { dataset_epsilon: 1000001 }\n"), "catalog_out_of_range", 4,
              "must be greater than 0 and at most 1000000 (write 'unlimited' for no cap)");
}

TEST(CatalogPrivacy, DatasetCapsAreParsed) {
  Catalog basic =
      ParseCatalog(WithSettings("    limits: { dataset_epsilon: 25, dataset_delta: 1e-4 }\n"), "t.yaml");
  const PrivacyLimits& l = basic.datasets[0].limits;
  EXPECT_EQ(*l.dataset_epsilon, Rational(25));
  EXPECT_EQ(*l.dataset_delta, Rational(1, 10000));
  EXPECT_FALSE(l.dataset_rho.has_value());
  Catalog zcdp = ParseCatalog(
      WithSettings(
          "    defaults: { delta: 1e-6 }\n    accounting: zcdp\n    limits: { dataset_rho: 0.75 }\n"),
      "t.yaml");
  EXPECT_EQ(zcdp.datasets[0].accounting, Accounting::kZcdp);
  EXPECT_EQ(*zcdp.datasets[0].limits.dataset_rho, Rational(3, 4));
}

}  // namespace
}  // namespace dpql
