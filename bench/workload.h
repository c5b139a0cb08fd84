#pragma once

// The benchmark workload: the fixed set of DPQL queries that scripts/bench
// times (bench/e2e_bench.cpp) and measures for accuracy
// (bench/accuracy_bench.cpp), each with the plain SQL it is compared with.

#include <string>
#include <vector>

namespace dpql {

struct BenchQuery {
  std::string name;
  std::string dpql;     // without WITH PRIVACY; the driver adds it
  std::string privacy;  // extra WITH PRIVACY options, e.g. ", delta = 1e-6"
  std::string naive;
  std::string reference;
};

// The fixed set: counts, distinct people, sums, means, a percentile,
// occupancy by ward on a day and by day, a join to wards, partition selection.
inline std::vector<BenchQuery> Queries() {
  return {
      {"admissions_by_ward", "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code", "",
       "SELECT ward_code, count(*) FROM admissions GROUP BY ward_code",
       "SELECT ward_code, sum(n) FROM (SELECT ward_code, patient_id, count(*) AS n FROM admissions "
       "GROUP BY ward_code, patient_id) s GROUP BY ward_code"},
      {"patients_by_sex", "SELECT sex, COUNT(DISTINCT patient_id) FROM admissions GROUP BY sex", "",
       "SELECT sex, count(DISTINCT patient_id) FROM admissions GROUP BY sex",
       "SELECT sex, count(*) FROM (SELECT sex, patient_id FROM admissions GROUP BY sex, patient_id) s "
       "GROUP BY sex"},
      {"stay_sum_by_method",
       "SELECT admission_method, SUM(length_of_stay) FROM admissions GROUP BY admission_method", "",
       "SELECT admission_method, sum(length_of_stay) FROM admissions GROUP BY admission_method",
       "SELECT admission_method, sum(s) FROM (SELECT admission_method, patient_id, "
       "sum(length_of_stay) AS s FROM admissions GROUP BY admission_method, patient_id) t "
       "GROUP BY admission_method"},
      {"mean_age_by_chapter", "SELECT diagnosis_chapter, AVG(age) FROM admissions GROUP BY diagnosis_chapter",
       "", "SELECT diagnosis_chapter, avg(age) FROM admissions GROUP BY diagnosis_chapter",
       "SELECT diagnosis_chapter, sum(s) / sum(n) FROM (SELECT diagnosis_chapter, patient_id, "
       "sum(age) AS s, count(age) AS n FROM admissions GROUP BY diagnosis_chapter, patient_id) t "
       "GROUP BY diagnosis_chapter"},
      {"median_wait_by_method",
       "SELECT admission_method, MEDIAN(waiting_days) FROM admissions GROUP BY admission_method", "",
       "SELECT admission_method, percentile_disc(0.5) WITHIN GROUP (ORDER BY waiting_days) "
       "FROM admissions GROUP BY admission_method",
       "SELECT admission_method, percentile_disc(0.5) WITHIN GROUP (ORDER BY w) FROM "
       "(SELECT admission_method, patient_id, avg(waiting_days) AS w FROM admissions "
       "GROUP BY admission_method, patient_id) t GROUP BY admission_method"},
      {"occupancy_by_ward_on_a_day",
       "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = DATE '2026-11-27' "
       "GROUP BY ward_code",
       "",
       "SELECT ward_code, count(DISTINCT patient_id) FROM bed_days WHERE day = DATE '2026-11-27' "
       "GROUP BY ward_code",
       "SELECT ward_code, count(*) FROM (SELECT ward_code, patient_id FROM bed_days "
       "WHERE day = DATE '2026-11-27' GROUP BY ward_code, patient_id) s GROUP BY ward_code"},
      {"occupancy_by_day_in_november",
       "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM bed_days WHERE day BETWEEN "
       "DATE '2026-11-01' AND DATE '2026-11-30' GROUP BY DATE_TRUNC('day', day)",
       "",
       "SELECT day, count(*) FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND "
       "DATE '2026-11-30' GROUP BY day",
       "SELECT day, sum(n) FROM (SELECT day, patient_id, count(*) AS n FROM bed_days WHERE day "
       "BETWEEN DATE '2026-11-01' AND DATE '2026-11-30' GROUP BY day, patient_id) s GROUP BY day"},
      {"admissions_by_trust_join",
       "SELECT w.trust, COUNT(*) FROM admissions a JOIN wards w ON a.ward_code = w.ward_code "
       "GROUP BY w.trust",
       "",
       "SELECT w.trust, count(*) FROM admissions a JOIN wards w ON a.ward_code = w.ward_code "
       "GROUP BY w.trust",
       "SELECT trust, sum(n) FROM (SELECT w.trust, a.patient_id, count(*) AS n FROM admissions a "
       "JOIN wards w ON a.ward_code = w.ward_code GROUP BY w.trust, a.patient_id) s GROUP BY trust"},
      {"patients_by_postcode_selected",
       "SELECT postcode_district, COUNT(DISTINCT patient_id) FROM admissions "
       "GROUP BY postcode_district",
       ", delta = 0.000001",
       "SELECT postcode_district, count(DISTINCT patient_id) FROM admissions "
       "GROUP BY postcode_district",
       "SELECT postcode_district, count(*) FROM (SELECT postcode_district, patient_id FROM "
       "admissions GROUP BY postcode_district, patient_id) s GROUP BY postcode_district"},
  };
}

}  // namespace dpql
