-- hospital_generate(rows): replaces the contents of `admissions` with `rows`
-- synthetic admissions and refreshes the bed_days materialized view. Deterministic: every value is a function of the row
-- number through hashint8extended (never random()), so the same `rows` gives
-- the same data on every run, with or without parallel workers.
--
-- Shape of the data:
-- * Patients own consecutive admission numbers in blocks of 30 admissions and
--   10 patients with 1,1,1,1,1,2,2,4,6,11 admissions each: about rows/3
--   patients, half of them admitted once, one in ten admitted 11 times.
-- * A patient with n admissions has the 1096 days 2024-01-01..2026-12-31,
--   taken as a circle turned by a phase of the patient's own, cut into n equal
--   slots and one stay inside each slot, so one patient's stays never overlap
--   and every date lies in 2024-01-01..2026-12-31.
-- * Lengths of stay are exponential-ish (mostly short, many same-day elective
--   stays), capped at 60 days. Waiting days only for elective admissions.
-- * Sex, base age and trust belong to the patient, and the home postcode
--   district lies in the trust's area (LS Leeds, BD Bradford, M Manchester,
--   S Sheffield); maternity stays go to the trust's maternity ward, children
--   (age < 16) to its paediatric ward, everyone else to one of its adult wards.
-- * Plausible to a bed planner (README.md, "The shape a planner sees"): beds
--   scale with `rows` (hospital_wards() holds them at 200 000 admissions);
--   patients are shared among trusts, and adults among a trust's wards, in
--   proportion to beds (over the ward's typical stay); the lengths of stay
--   and the maternity and child shares are tuned so that wards are about 87%
--   full (maternity about 65%);
--   elective admissions avoid weekends; emergencies peak in winter.

-- A uniform number in (0, 1) from (n, salt); inlined by the planner.
CREATE OR REPLACE FUNCTION hospital_u(n bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (((hashint8extended(n, salt) >> 11) & 9007199254740991)::float8 + 0.5)
          / 9007199254740992.0 $$;

-- The ~100 postcode districts patients live in, in a fixed order.
CREATE OR REPLACE FUNCTION hospital_postcode_districts() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT array_agg(d ORDER BY ord) FROM (
     SELECT 'LS' || g AS d, g AS ord FROM generate_series(1, 28) AS g
     UNION ALL SELECT 'BD' || g, 100 + g FROM generate_series(1, 24) AS g
     UNION ALL SELECT 'M' || g, 200 + g FROM generate_series(1, 28) AS g
     UNION ALL SELECT 'S' || g, 300 + g FROM generate_series(1, 20) AS g) AS t $$;

-- jit = off: the planner's cost estimate for the INSERT is high enough to
-- trigger JIT compilation, which took longer (9 s) than generating 20000 rows.
CREATE OR REPLACE FUNCTION hospital_generate(rows bigint) RETURNS bigint
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
  inserted bigint;
  -- Patients are shared out among the trusts in proportion to their beds:
  -- a patient whose draw u < cut_lth belongs to Leeds, < cut_bth Bradford,
  -- < cut_mft Manchester, else Sheffield.
  cut_lth float8;
  cut_bth float8;
  cut_mft float8;
BEGIN
  IF rows IS NULL OR rows < 0 THEN
    RAISE EXCEPTION 'hospital_generate: rows must be a non-negative number, got %', rows;
  END IF;
  TRUNCATE admissions;
  PERFORM hospital_drop_indexes();

  -- Beds scale with the row count (hospital_wards() holds the beds at the
  -- reference size of 200 000 admissions); wards added by hand keep theirs.
  UPDATE wards AS w SET beds = greatest(1, round(r.beds * rows / 200000.0))::int
  FROM hospital_wards() AS r WHERE w.ward_code = r.ward_code;

  WITH t AS (SELECT left(ward_code, 3) AS trust, sum(beds)::float8 AS beds
             FROM hospital_wards() GROUP BY 1)
  SELECT sum(beds) FILTER (WHERE trust = 'LTH') / sum(beds),
         sum(beds) FILTER (WHERE trust IN ('LTH', 'BTH')) / sum(beds),
         sum(beds) FILTER (WHERE trust IN ('LTH', 'BTH', 'MFT')) / sum(beds)
  INTO cut_lth, cut_bth, cut_mft FROM t;

  INSERT INTO admissions (admission_id, patient_id, ward_code, sex, age, admitted_on,
                          discharged_on, length_of_stay, admission_method,
                          diagnosis_chapter, waiting_days, postcode_district)
  -- Each step below ends in OFFSET 0, which stops the planner from merging it
  -- into the next one: merged, every use of a computed column (los, admitted,
  -- ...) recomputed its whole expression, and generation was 6x slower.
  WITH
  -- Position pos (0..29) of a block of 30 admissions belongs to member m
  -- (0..9) of a block of 10 patients, as its k-th (0-based) of n admissions.
  layout(m, k, n) AS (
    SELECT '{0,1,2,3,4,5,5,6,6,7,7,7,7,8,8,8,8,8,8,9,9,9,9,9,9,9,9,9,9,9}'::int[],
           '{0,0,0,0,0,0,1,0,1,0,1,2,3,0,1,2,3,4,5,0,1,2,3,4,5,6,7,8,9,10}'::int[],
           '{1,1,1,1,1,2,2,2,2,4,4,4,4,6,6,6,6,6,6,11,11,11,11,11,11,11,11,11,11,11}'::int[]),
  -- How long adults stay, relative to the method's typical stay, by the
  -- ward's specialty: short on the acute medical unit, long in critical and
  -- elderly care.
  specialty_stay(specialty, factor) AS (
    VALUES ('acute medicine', 0.5), ('cardiology', 0.9), ('critical care', 1.6),
           ('elderly care', 1.5), ('general surgery', 0.8), ('oncology', 1.2),
           ('orthopaedics', 1.0), ('renal', 1.2), ('respiratory', 1.1)),
  -- Each trust's adult wards, every ward listed in proportion to its
  -- reference beds divided by the mean bed days of its stays (about
  -- 0.5 + 4.8 x factor), so a uniform pick from the list fills every ward to
  -- the same share of its beds.
  adult_wards AS (
    SELECT left(w.ward_code, 3) AS trust,
           array_agg(w.ward_code ORDER BY w.ward_code, b) AS codes,
           array_agg(coalesce(f.factor, 1.0)::float8 ORDER BY w.ward_code, b) AS factors
    FROM wards AS w
    LEFT JOIN hospital_wards() AS r ON r.ward_code = w.ward_code
    LEFT JOIN specialty_stay AS f ON f.specialty = w.specialty
    CROSS JOIN LATERAL generate_series(1, round(100 * coalesce(r.beds, w.beds)
                                                 / (0.5 + 4.8 * coalesce(f.factor, 1.0)))::int) AS b
    WHERE w.specialty NOT IN ('maternity', 'paediatrics')
    GROUP BY 1),
  -- Patient-level attributes.
  person AS (
    SELECT i, l.n[1 + (i % 30)::int] AS n, l.k[1 + (i % 30)::int] AS k,
           (i / 30) * 10 + l.m[1 + (i % 30)::int] AS patient_no
    FROM layout AS l, generate_series(0::bigint, rows - 1) AS i OFFSET 0),
  patient AS (
    SELECT i, n, k, patient_no,
           CASE WHEN hospital_u(patient_no, 1) < 0.51 THEN 'F'
                WHEN hospital_u(patient_no, 1) < 0.99 THEN 'M' ELSE 'X' END AS sex,
           CASE WHEN hospital_u(patient_no, 2) < 0.12 THEN floor(hospital_u(patient_no, 3) * 16)
                WHEN hospital_u(patient_no, 2) < 0.40 THEN 16 + floor(hospital_u(patient_no, 3) * 29)
                ELSE 45 + floor((hospital_u(patient_no, 3) + hospital_u(patient_no, 7)) * 25) END::int AS base_age,
           CASE WHEN hospital_u(patient_no, 4) < cut_lth THEN 'LTH'
                WHEN hospital_u(patient_no, 4) < cut_bth THEN 'BTH'
                WHEN hospital_u(patient_no, 4) < cut_mft THEN 'MFT' ELSE 'STH' END AS trust,
           power(hospital_u(patient_no, 5), 1.3) AS district_draw
    FROM person OFFSET 0),
  -- Admission method, and the patient's slot for this stay: the 1096 days
  -- are a circle cut into n slots of slot_days days, turned by a phase of the
  -- patient's own, so slot edges fall on different days for different
  -- patients. A slot across 2026-12-31/2024-01-01 keeps one of its two
  -- pieces, chosen with probability in proportion to its length.
  -- The stay lies in the days lo .. lo + room - 1 (0 = 2024-01-01).
  stay AS (
    SELECT p.*,
           CASE WHEN sex = 'F' AND base_age BETWEEN 16 AND 44 AND hospital_u(i, 10) < 0.7 THEN 'maternity'
                WHEN hospital_u(i, 11) < 0.40 THEN 'elective'
                WHEN hospital_u(i, 11) < 0.90 THEN 'emergency'
                ELSE 'transfer' END AS method,
           1096 / n AS slot_days,
           (floor(hospital_u(patient_no, 6) * (1096 / n))::int + k * (1096 / n)) % 1096 AS slot_start,
           w.codes[1 + floor(hospital_u(i, 14) * cardinality(w.codes))::int] AS adult_ward,
           w.factors[1 + floor(hospital_u(i, 14) * cardinality(w.codes))::int] AS stay_factor
    FROM patient AS p JOIN adult_wards AS w USING (trust) OFFSET 0),
  slot AS (
    SELECT *,
           CASE WHEN slot_start + slot_days <= 1096 OR tail_pick THEN slot_start ELSE 0 END AS lo,
           CASE WHEN slot_start + slot_days <= 1096 THEN slot_days
                WHEN tail_pick THEN 1096 - slot_start
                ELSE slot_days - (1096 - slot_start) END AS room
    FROM (SELECT *, hospital_u(i, 23) * slot_days < 1096 - slot_start AS tail_pick
          FROM stay) AS s OFFSET 0),
  timed AS (
    SELECT *,
           least(60, room - 1,
                 floor(-ln(hospital_u(i, 12))
                       * CASE method WHEN 'elective' THEN 2.1
                                     WHEN 'emergency' THEN 6.4
                                     WHEN 'maternity' THEN 3.0
                                     ELSE 10.5 END
                       * CASE WHEN base_age < 16 THEN 0.68
                              WHEN method = 'maternity' THEN 1.0 ELSE stay_factor END)::int) AS los
    FROM slot OFFSET 0),
  -- Three candidate admission days inside the slot. Emergency and transfer
  -- admissions take the first candidate accepted with probability
  -- weight(day) / (1 + A), weight = 1 + A cos(2 pi (day - 15) / 365.25):
  -- winter pressure, A = 0.1, peaking in mid-January. Elective and maternity
  -- admissions take the first.
  candidates AS (
    SELECT *,
           lo + floor(hospital_u(i, 13) * (room - los))::int AS d1,
           lo + floor(hospital_u(i, 17) * (room - los))::int AS d2,
           lo + floor(hospital_u(i, 18) * (room - los))::int AS d3
    FROM timed OFFSET 0),
  seasonal AS (
    SELECT *,
           CASE WHEN method NOT IN ('emergency', 'transfer') THEN d1
                WHEN hospital_u(i, 19) * (1 + 0.1) < 1 + 0.1 * cos(2 * pi() * (d1 - 15) / 365.25) THEN d1
                WHEN hospital_u(i, 20) * (1 + 0.1) < 1 + 0.1 * cos(2 * pi() * (d2 - 15) / 365.25) THEN d2
                ELSE d3 END AS d
    FROM candidates OFFSET 0),
  -- 2024-01-01 was a Monday, so d % 7 is 0 on Mondays and 5, 6 at weekends.
  -- Nine in ten elective admissions that fell on a weekend move to a weekday
  -- of the same week (or, at the start of the slot, of the next week); one
  -- that would no longer fit in its slot stays where it was.
  moved AS (
    SELECT *,
           CASE WHEN method <> 'elective' OR d % 7 < 5 OR hospital_u(i, 21) >= 0.9 THEN d
                ELSE d - d % 7 + floor(hospital_u(i, 22) * 5)::int END AS weekday
    FROM seasonal OFFSET 0),
  dated AS (
    SELECT *,
           date '2024-01-01'
             + CASE WHEN weekday >= lo THEN weekday
                    WHEN weekday + 7 <= lo + room - los - 1 THEN weekday + 7
                    ELSE d END AS admitted
    FROM moved OFFSET 0),
  aged AS (
    SELECT *, least(105, base_age + (admitted - date '2024-01-01') / 365) AS age
    FROM dated OFFSET 0)
  SELECT a.i + 1,
         'P' || lpad(a.patient_no::text, 8, '0'),
         CASE WHEN a.method = 'maternity' THEN a.trust || '-MAT'
              WHEN a.age < 16 THEN a.trust || '-PAE'
              ELSE a.adult_ward END,
         a.sex,
         a.age,
         a.admitted,
         a.admitted + a.los,
         a.los,
         a.method,
         CASE WHEN a.method = 'maternity' THEN 'O'
              ELSE (ARRAY['A','C','C','D','E','F','G','I','I','I','J','J','J','K','K','L',
                          'M','M','N','N','R','R','R','S','S','T','Z'])
                     [1 + floor(hospital_u(a.i, 15) * 27)::int] END,
         CASE WHEN a.method = 'elective'
              THEN least(730, floor(-ln(hospital_u(a.i, 16)) * 60.0)::int) END,
         -- The home district lies in the trust's postcode area (LS1-28,
         -- BD1-24, M1-28, S1-20 in hospital_postcode_districts()), skewed
         -- towards the low numbers.
         (hospital_postcode_districts())[
           CASE a.trust WHEN 'LTH' THEN 1 + floor(a.district_draw * 28)
                        WHEN 'BTH' THEN 29 + floor(a.district_draw * 24)
                        WHEN 'MFT' THEN 53 + floor(a.district_draw * 28)
                        ELSE 81 + floor(a.district_draw * 20) END::int]
  FROM aged AS a;

  GET DIAGNOSTICS inserted = ROW_COUNT;
  PERFORM hospital_create_indexes();
  REFRESH MATERIALIZED VIEW bed_days;
  ANALYZE wards;
  ANALYZE admissions;
  ANALYZE bed_days;
  RETURN inserted;
END;
$$;
