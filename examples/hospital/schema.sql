-- The synthetic hospital dataset: tables, the bed_days view and indexes.
-- Rerunning this file recreates everything empty; generate.sql fills it.
--
--   admissions  private: one row per hospital admission (many per patient)
--   wards       public dimension: 37 wards of four NHS-like trusts
--   bed_days    private materialized view: one row per patient, ward and
--               occupied day; hospital_generate() refreshes it

DO $$
BEGIN
  -- bed_days is a materialized view; an older load may have made it a view.
  IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('bed_days') AND relkind = 'v') THEN
    DROP VIEW bed_days;
  END IF;
END;
$$;
DROP MATERIALIZED VIEW IF EXISTS bed_days;
DROP TABLE IF EXISTS admissions;
DROP TABLE IF EXISTS wards;

CREATE TABLE wards (
  ward_code text PRIMARY KEY,
  name      text NOT NULL,
  trust     text NOT NULL,
  specialty text NOT NULL,
  beds      int  NOT NULL CHECK (beds > 0)
);

-- hospital_wards(): the 37 wards with their beds at the reference size of
-- 200 000 admissions (scripts/demo's default). hospital_generate(rows) sets
-- wards.beds to these beds scaled by rows / 200 000 (at least 1), so a ward's
-- occupancy is plausible at any size. Every trust has one maternity and one
-- paediatric ward; generate.sql sends maternity admissions and children there
-- and spreads the rest over the trust's adult wards in proportion to their
-- beds. The first three letters of a ward code name its trust.
CREATE OR REPLACE FUNCTION hospital_wards()
RETURNS TABLE (ward_code text, name text, trust text, specialty text, beds int)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ VALUES
  ('LTH-AMU',  'Acute Medical Unit',           'Leeds Teaching Hospitals NHS Trust', 'acute medicine',   36),
  ('LTH-CAR',  'Cardiology Ward 28',           'Leeds Teaching Hospitals NHS Trust', 'cardiology',       28),
  ('LTH-RES',  'Respiratory Ward 7',           'Leeds Teaching Hospitals NHS Trust', 'respiratory',      28),
  ('LTH-ORT',  'Trauma and Orthopaedics 12',   'Leeds Teaching Hospitals NHS Trust', 'orthopaedics',     30),
  ('LTH-SUR',  'General Surgery Ward 4',       'Leeds Teaching Hospitals NHS Trust', 'general surgery',  30),
  ('LTH-ONC',  'Oncology Ward 95',             'Leeds Teaching Hospitals NHS Trust', 'oncology',         24),
  ('LTH-ELD',  'Elderly Care Ward 18',         'Leeds Teaching Hospitals NHS Trust', 'elderly care',     32),
  ('LTH-ICU',  'Adult Critical Care',          'Leeds Teaching Hospitals NHS Trust', 'critical care',    16),
  ('LTH-MAT',  'Maternity Ward 40',            'Leeds Teaching Hospitals NHS Trust', 'maternity',        24),
  ('LTH-PAE',  'Children''s Ward 50',          'Leeds Teaching Hospitals NHS Trust', 'paediatrics',      24),
  ('BTH-AMU',  'Acute Medical Unit',           'Bradford Teaching Hospitals NHS Foundation Trust', 'acute medicine',  32),
  ('BTH-CAR',  'Ward 9 Cardiology',            'Bradford Teaching Hospitals NHS Foundation Trust', 'cardiology',      24),
  ('BTH-RES',  'Ward 23 Respiratory',          'Bradford Teaching Hospitals NHS Foundation Trust', 'respiratory',     26),
  ('BTH-ORT',  'Ward 27 Orthopaedics',         'Bradford Teaching Hospitals NHS Foundation Trust', 'orthopaedics',    26),
  ('BTH-SUR',  'Ward 20 Surgery',              'Bradford Teaching Hospitals NHS Foundation Trust', 'general surgery', 28),
  ('BTH-ELD',  'Ward 31 Elderly Care',         'Bradford Teaching Hospitals NHS Foundation Trust', 'elderly care',    30),
  ('BTH-MAT',  'Labour Ward',                  'Bradford Teaching Hospitals NHS Foundation Trust', 'maternity',       20),
  ('BTH-PAE',  'Ward 30 Children',             'Bradford Teaching Hospitals NHS Foundation Trust', 'paediatrics',     20),
  ('MFT-AMU',  'Acute Medical Unit',           'Manchester University NHS Foundation Trust', 'acute medicine',   40),
  ('MFT-CAR',  'Cardiac Ward 3',               'Manchester University NHS Foundation Trust', 'cardiology',       30),
  ('MFT-RES',  'Respiratory Ward 8',           'Manchester University NHS Foundation Trust', 'respiratory',      28),
  ('MFT-ORT',  'Trauma Ward 5',                'Manchester University NHS Foundation Trust', 'orthopaedics',     30),
  ('MFT-SUR',  'Surgical Ward 10',             'Manchester University NHS Foundation Trust', 'general surgery',  32),
  ('MFT-ONC',  'Oncology Ward 15',             'Manchester University NHS Foundation Trust', 'oncology',         24),
  ('MFT-REN',  'Renal Ward 35',                'Manchester University NHS Foundation Trust', 'renal',            22),
  ('MFT-ELD',  'Elderly Care Ward 45',         'Manchester University NHS Foundation Trust', 'elderly care',     34),
  ('MFT-ICU',  'Critical Care Unit',           'Manchester University NHS Foundation Trust', 'critical care',    18),
  ('MFT-MAT',  'Saint Mary''s Maternity',      'Manchester University NHS Foundation Trust', 'maternity',        28),
  ('MFT-PAE',  'Royal Manchester Children''s Ward 84', 'Manchester University NHS Foundation Trust', 'paediatrics', 28),
  ('STH-AMU',  'Acute Medical Unit',           'Sheffield Teaching Hospitals NHS Foundation Trust', 'acute medicine',  34),
  ('STH-CAR',  'Cardiology Ward P3',           'Sheffield Teaching Hospitals NHS Foundation Trust', 'cardiology',      26),
  ('STH-RES',  'Respiratory Ward I1',          'Sheffield Teaching Hospitals NHS Foundation Trust', 'respiratory',     26),
  ('STH-ORT',  'Orthopaedic Ward N2',          'Sheffield Teaching Hospitals NHS Foundation Trust', 'orthopaedics',    28),
  ('STH-SUR',  'Surgical Ward H1',             'Sheffield Teaching Hospitals NHS Foundation Trust', 'general surgery', 30),
  ('STH-ELD',  'Elderly Care Ward M1',         'Sheffield Teaching Hospitals NHS Foundation Trust', 'elderly care',    32),
  ('STH-MAT',  'Jessop Wing Maternity',        'Sheffield Teaching Hospitals NHS Foundation Trust', 'maternity',       22),
  ('STH-PAE',  'Children''s Assessment Ward',  'Sheffield Teaching Hospitals NHS Foundation Trust', 'paediatrics',     18) $$;

INSERT INTO wards (ward_code, name, trust, specialty, beds) SELECT * FROM hospital_wards();

CREATE TABLE admissions (
  admission_id      bigint NOT NULL,   -- primary key added by hospital_create_indexes()
  patient_id        text   NOT NULL,
  ward_code         text   NOT NULL,   -- foreign key to wards added likewise
  sex               text   NOT NULL CHECK (sex IN ('F', 'M', 'X')),
  age               int    NOT NULL CHECK (age BETWEEN 0 AND 110),
  admitted_on       date   NOT NULL,
  discharged_on     date   NOT NULL,
  length_of_stay    int    NOT NULL,
  admission_method  text   NOT NULL
    CHECK (admission_method IN ('elective', 'emergency', 'maternity', 'transfer')),
  diagnosis_chapter text   NOT NULL,
  waiting_days      int,   -- elective admissions only; NULL otherwise
  postcode_district text   NOT NULL,
  CHECK (discharged_on >= admitted_on),
  CHECK (length_of_stay = discharged_on - admitted_on)
);

-- bed_days: one row for every calendar day on which the patient was on the
-- ward at any time, admission and discharge days both included. A same-day
-- stay (length_of_stay = 0) is one bed day; a stay of n nights is n + 1 bed
-- days. generate.sql never lets one patient's stays overlap, so there is at
-- most one row per (patient_id, day).
--
-- Materialized rather than a plain view: a plain view must expand every stay
-- (or probe a range index once per calendar day) on every query, which at one
-- million admissions took 3-40 s per query; the materialized rows with an
-- index on day answer a one-day question in milliseconds and a year in about
-- a second. hospital_generate() refreshes it; refresh it yourself
-- (REFRESH MATERIALIZED VIEW bed_days) after changing admissions by hand.
CREATE MATERIALIZED VIEW bed_days AS
SELECT a.patient_id, a.ward_code, a.admitted_on + d.k AS day
FROM admissions AS a
CROSS JOIN LATERAL generate_series(0, a.length_of_stay) AS d(k);
CREATE INDEX bed_days_day_idx ON bed_days (day);

-- Keys and indexes are (re)built by hospital_generate() after loading,
-- because building them once is much faster than maintaining them row by row
-- (and checking the foreign key once per row). hospital_create_indexes():
--   primary key (admission_id) and foreign key ward_code -> wards.
--   (patient_id, ward_code): the per-patient contribution bounding groups and
--     numbers rows by patient (docs/OPERATIONS.md, "Indexes the guardian should
--     create").
--   admitted_on: date-range filters on admissions.
CREATE OR REPLACE FUNCTION hospital_create_indexes() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'admissions_pkey'
                 AND conrelid = 'admissions'::regclass) THEN
    ALTER TABLE admissions ADD CONSTRAINT admissions_pkey PRIMARY KEY (admission_id);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'admissions_ward_code_fkey'
                 AND conrelid = 'admissions'::regclass) THEN
    ALTER TABLE admissions ADD CONSTRAINT admissions_ward_code_fkey
      FOREIGN KEY (ward_code) REFERENCES wards (ward_code);
  END IF;
  CREATE INDEX IF NOT EXISTS admissions_patient_ward_idx ON admissions (patient_id, ward_code);
  CREATE INDEX IF NOT EXISTS admissions_admitted_on_idx ON admissions (admitted_on);
END;
$$;

CREATE OR REPLACE FUNCTION hospital_drop_indexes() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  ALTER TABLE admissions DROP CONSTRAINT IF EXISTS admissions_ward_code_fkey;
  ALTER TABLE admissions DROP CONSTRAINT IF EXISTS admissions_pkey;
  DROP INDEX IF EXISTS admissions_patient_ward_idx;
  DROP INDEX IF EXISTS admissions_admitted_on_idx;
END;
$$;

SELECT hospital_create_indexes();
