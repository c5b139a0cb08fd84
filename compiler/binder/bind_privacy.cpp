#include <set>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

[[noreturn]] void Fail(ErrorCode code, const std::string& message, const SourceLocation& loc) {
  throw DpqlError(code, message, loc);
}

Rational Number(const ast::PrivacyOption& option) {
  auto value = option.is_number ? ParseDecimal(option.value) : std::nullopt;
  if (!value) {
    Fail(ErrorCode::kInvalidPrivacyOption,
         option.name + " needs a number, e.g. " + option.name + " = " +
             (option.name == "epsilon" ? "0.5" : "1"),
         option.value_loc);
  }
  return *value;
}

// A limit for a message: "0.001", "1e-20", "1e-6" (not "1e-06").
std::string Show(const Rational& value) {
  std::string text = ToDecimalString(value);
  const size_t e = text.find("e-0");
  if (e != std::string::npos) text.erase(e + 2, 1);
  return text;
}

int64_t WholeNumber(const ast::PrivacyOption& option, int64_t limit) {
  Rational value = Number(option);
  if (boost::multiprecision::denominator(value) != 1 || value < 1 || value > limit) {
    Fail(
        ErrorCode::kInvalidPrivacyOption,
        option.name + " must be a whole number from 1 to " + std::to_string(limit) + " (the catalog's limit)",
        option.value_loc);
  }
  return boost::multiprecision::numerator(value).convert_to<int64_t>();
}

void BindEpsilon(const ast::PrivacyOption& option, const PrivacyLimits& limits, PrivacyParams& params) {
  // The range is checked on the exact value (never a double: 1e-400 is
  // not 0 here), so nothing below the floor reaches the calibration.
  params.epsilon = Number(option);
  const std::string range =
      "from " + Show(limits.min_epsilon_per_query) + " to " + Show(limits.max_epsilon_per_query);
  if (params.epsilon <= 0) {
    Fail(ErrorCode::kInvalidPrivacyOption,
         "epsilon must be greater than 0; this dataset allows epsilon " + range +
             " per query, e.g. epsilon = 0.5",
         option.value_loc);
  }
  if (params.epsilon < limits.min_epsilon_per_query) {
    Fail(ErrorCode::kEpsilonTooSmall,
         "epsilon = " + option.value + " is below this dataset's floor of " +
             Show(limits.min_epsilon_per_query) +
             " per query (a smaller epsilon drowns every answer in noise); ask for epsilon " + range,
         option.value_loc);
  }
  if (params.epsilon > limits.max_epsilon_per_query) {
    Fail(ErrorCode::kEpsilonTooLarge,
         "epsilon = " + option.value + " exceeds this dataset's limit of " +
             Show(limits.max_epsilon_per_query) + " per query; ask for epsilon " + range,
         option.value_loc);
  }
}

void BindDelta(const ast::PrivacyOption& option, const PrivacyLimits& limits, PrivacyParams& params) {
  params.delta = Number(option);
  const std::string range = limits.max_delta_per_query > 0
                                ? "delta = 0 or a delta from " + Show(limits.min_delta_per_query) + " to " +
                                      Show(limits.max_delta_per_query)
                                : "delta = 0 (this dataset allows no delta)";
  if (params.delta < 0 || params.delta >= 1) {
    Fail(ErrorCode::kInvalidPrivacyOption,
         "delta must be at least 0 and below 1; ask for " + range + ", e.g. delta = 1e-6", option.value_loc);
  }
  if (params.delta > limits.max_delta_per_query) {
    Fail(ErrorCode::kDeltaTooLarge,
         "delta = " + option.value + " exceeds this dataset's limit of " + Show(limits.max_delta_per_query) +
             " per query; ask for " + range,
         option.value_loc);
  }
  if (params.delta > 0 && params.delta < limits.min_delta_per_query) {
    Fail(ErrorCode::kDeltaTooSmall,
         "delta = " + option.value + " is below this dataset's floor of " + Show(limits.min_delta_per_query) +
             " per query (the partition-selection threshold and the Gaussian calibration "
             "are computed for delta at least that); ask for " +
             range,
         option.value_loc);
  }
}

void BindMechanism(const ast::PrivacyOption& option, const PrivacyLimits&, PrivacyParams& params) {
  params.mechanism_auto = false;
  if (option.value == "laplace") {
    params.mechanism = Mechanism::kLaplace;
  } else if (option.value == "gaussian") {
    params.mechanism = Mechanism::kGaussian;
  } else {
    Fail(ErrorCode::kInvalidPrivacyOption, "mechanism must be laplace or gaussian", option.value_loc);
  }
}

void BindConfidence(const ast::PrivacyOption& option, const PrivacyLimits&, PrivacyParams& params) {
  params.confidence = Number(option);
  if (params.confidence < Rational(1, 2) || params.confidence > MaxConfidence()) {
    Fail(ErrorCode::kInvalidPrivacyOption,
         "confidence must be from 0.5 to " + Show(MaxConfidence()) + ", e.g. confidence = 0.9",
         option.value_loc);
  }
}

// The options of WITH PRIVACY, each with the binder of its value.
struct PrivacyOptionBinder {
  const char* name;
  void (*bind)(const ast::PrivacyOption& option, const PrivacyLimits& limits, PrivacyParams& params);
};

constexpr PrivacyOptionBinder kPrivacyOptions[] = {
    {"epsilon", &BindEpsilon},
    {"delta", &BindDelta},
    {"mechanism", &BindMechanism},
    {"max_groups",
     [](const ast::PrivacyOption& option, const PrivacyLimits& limits, PrivacyParams& params) {
       params.max_groups = WholeNumber(option, limits.max_groups);
       params.max_groups_source = BoundSource::kQuery;
     }},
    {"max_rows",
     [](const ast::PrivacyOption& option, const PrivacyLimits& limits, PrivacyParams& params) {
       params.max_rows = WholeNumber(option, limits.max_rows);
       params.max_rows_source = BoundSource::kQuery;
     }},
    {"confidence", &BindConfidence},
};

// The Gaussian mechanism has no pure (delta = 0) guarantee: point at the
// option that made delta 0, or at the one that asked for the Gaussian.
void CheckGaussianHasDelta(const std::vector<ast::PrivacyOption>& options, const PrivacyParams& params) {
  if (params.mechanism != Mechanism::kGaussian || params.delta != 0) return;
  SourceLocation loc;
  for (const auto& option : options) {
    if (option.name == "delta") loc = option.value_loc;
  }
  if (loc.line == 0) {
    for (const auto& option : options) {
      if (option.name == "mechanism") loc = option.value_loc;
    }
  }
  Fail(ErrorCode::kGaussianNeedsDelta,
       "mechanism = gaussian needs delta > 0 (its guarantee is (epsilon, delta)); write e.g. "
       "WITH PRIVACY (mechanism = gaussian, delta = 1e-6), or use mechanism = laplace for "
       "delta = 0",
       loc);
}

}  // namespace

PrivacyParams Binder::BindPrivacy(const std::vector<ast::PrivacyOption>& options) {
  const PrivacyDefaults& defaults = dataset_.defaults;
  PrivacyParams params;
  params.epsilon = defaults.epsilon;
  params.delta = defaults.delta;
  params.mechanism = defaults.mechanism;
  params.mechanism_auto = defaults.mechanism_auto;
  // The FROM table's own defaults, where the catalog declares them.
  params.max_groups = table_ != nullptr && table_->max_groups ? *table_->max_groups : defaults.max_groups;
  params.max_rows = table_ != nullptr && table_->max_rows ? *table_->max_rows : defaults.max_rows;
  params.confidence = defaults.confidence;

  std::set<std::string> seen;
  for (const auto& option : options) {
    if (!seen.insert(option.name).second) {
      Fail(ErrorCode::kDuplicatePrivacyOption,
           option.name + " is given twice in WITH PRIVACY; keep one " + option.name + " = ...", option.loc);
    }
    const PrivacyOptionBinder* binder = nullptr;
    for (const PrivacyOptionBinder& known : kPrivacyOptions) {
      if (option.name == known.name) binder = &known;
    }
    if (binder == nullptr) {
      std::vector<std::string> names;
      for (const PrivacyOptionBinder& known : kPrivacyOptions) names.push_back(known.name);
      const std::string hint = ClosestName(option.name, names);
      Fail(ErrorCode::kUnknownPrivacyOption,
           "unknown privacy option " + option.name + (hint.empty() ? ";" : "; did you mean " + hint + "?") +
               " WITH PRIVACY takes epsilon, delta, mechanism, max_groups, max_rows and confidence",
           option.loc);
    }
    binder->bind(option, dataset_.limits, params);
  }
  CheckGaussianHasDelta(options, params);
  return params;
}

}  // namespace dpql
