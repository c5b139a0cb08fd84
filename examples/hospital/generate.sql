-- hospital_generate(rows): replaces the contents of `admissions` with `rows`
-- synthetic admissions and refreshes the bed_days materialized view. Deterministic: every value is a function of the row
-- number through hashint8extended (never random()), so the same `rows` gives
-- the same data on every run, with or without parallel workers.
--
-- Shape of the data:
-- * Patients own consecutive admission numbers in blocks of 30 admissions and
--   10 patients with 1,1,1,1,1,2,2,4,6,11 admissions each: about rows/3
--   patients, half of them admitted once, one in ten admitted 11 times.
-- * A patient with n admissions has the 1096 days 2024-01-01..2026-12-31 cut
--   into n equal slots and one stay inside each slot, so one patient's stays
--   never overlap and every date lies in 2024-01-01..2026-12-31.
-- * Lengths of stay are exponential-ish (mostly short, many same-day elective
--   stays), capped at 60 days. Waiting days only for elective admissions.
-- * Sex, base age and home postcode district belong to the patient; the trust
--   follows from the postcode area (LS Leeds, BD Bradford, M Manchester,
--   S Sheffield); maternity stays go to the trust's maternity ward, children
--   (age < 16) to its paediatric ward, everyone else to one of its adult wards.

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
BEGIN
  IF rows IS NULL OR rows < 0 THEN
    RAISE EXCEPTION 'hospital_generate: rows must be a non-negative number, got %', rows;
  END IF;
  TRUNCATE admissions;
  PERFORM hospital_drop_indexes();

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
  adult_wards AS (
    SELECT left(ward_code, 3) AS trust, array_agg(ward_code ORDER BY ward_code) AS codes
    FROM wards WHERE specialty NOT IN ('maternity', 'paediatrics')
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
                ELSE 45 + floor(sqrt(hospital_u(patient_no, 3)) * 56) END::int AS base_age,
           (hospital_postcode_districts())[1 + floor(power(hospital_u(patient_no, 4), 1.3) * 100)::int]
             AS postcode_district
    FROM person OFFSET 0),
  -- Admission method and length of stay.
  stay AS (
    SELECT *,
           CASE WHEN sex = 'F' AND base_age BETWEEN 16 AND 44 AND hospital_u(i, 10) < 0.35 THEN 'maternity'
                WHEN hospital_u(i, 11) < 0.40 THEN 'elective'
                WHEN hospital_u(i, 11) < 0.90 THEN 'emergency'
                ELSE 'transfer' END AS method,
           1096 / n AS slot_days
    FROM patient OFFSET 0),
  timed AS (
    SELECT *,
           least(60, slot_days - 1,
                 floor(-ln(hospital_u(i, 12)) * CASE method WHEN 'elective' THEN 2.0
                                                            WHEN 'emergency' THEN 6.0
                                                            WHEN 'maternity' THEN 1.5
                                                            ELSE 10.0 END)::int) AS los
    FROM stay OFFSET 0),
  dated AS (
    SELECT *,
           date '2024-01-01' + (k * slot_days)::int
             + floor(hospital_u(i, 13) * (slot_days - los))::int AS admitted
    FROM timed OFFSET 0),
  aged AS (
    SELECT *, least(105, base_age + (admitted - date '2024-01-01') / 365) AS age,
           CASE left(postcode_district, 2) WHEN 'LS' THEN 'LTH' WHEN 'BD' THEN 'BTH'
                ELSE CASE left(postcode_district, 1) WHEN 'M' THEN 'MFT' ELSE 'STH' END
           END AS trust
    FROM dated OFFSET 0)
  SELECT a.i + 1,
         'P' || lpad(a.patient_no::text, 8, '0'),
         CASE WHEN a.method = 'maternity' THEN a.trust || '-MAT'
              WHEN a.age < 16 THEN a.trust || '-PAE'
              ELSE w.codes[1 + floor(hospital_u(a.i, 14) * cardinality(w.codes))::int] END,
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
         a.postcode_district
  FROM aged AS a
  JOIN adult_wards AS w ON w.trust = a.trust;

  GET DIAGNOSTICS inserted = ROW_COUNT;
  PERFORM hospital_create_indexes();
  REFRESH MATERIALIZED VIEW bed_days;
  ANALYZE wards;
  ANALYZE admissions;
  ANALYZE bed_days;
  RETURN inserted;
END;
$$;
