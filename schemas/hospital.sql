-- St. Mary's Hospital: the bundled relsynth demo database (SQLite dialect).
--
-- Planted structure worth noticing:
--   * diagnosis_codes is a lookup table (natural VARCHAR key, some codes never used);
--   * wards.head_nurse_id <-> providers.ward_id form a cycle, broken by the nullable head_nurse_id;
--   * providers.supervisor_id is a self-reference (a shallow tree);
--   * diagnoses has a composite primary key, referenced by lab_results through a composite foreign key;
--   * procedures references providers twice (performed_by, assisted_by);
--   * care_team is a many-to-many link table; transfers is empty on purpose.
-- UNIQUE constraints are table-level and named so that SQLAlchemy's SQLite reflection reports them.
-- Dates are stored as 'YYYY-MM-DD' text, timestamps as 'YYYY-MM-DD HH:MM:SS' text, booleans as 0/1.

CREATE TABLE diagnosis_codes (
    code        VARCHAR(8)  NOT NULL PRIMARY KEY,
    description TEXT        NOT NULL,
    chapter     VARCHAR(40) NOT NULL
);

CREATE TABLE wards (
    ward_id       INTEGER     NOT NULL PRIMARY KEY,
    name          VARCHAR(60) NOT NULL,
    specialty     VARCHAR(30) NOT NULL
        CHECK (specialty IN ('cardiology', 'general_medicine', 'surgery', 'orthopedics',
                             'maternity', 'icu', 'psychiatry', 'oncology')),
    floor         INTEGER     NOT NULL CHECK (floor BETWEEN 0 AND 12),
    beds          INTEGER     NOT NULL CHECK (beds > 0),
    head_nurse_id INTEGER     NULL REFERENCES providers (provider_id),
    CONSTRAINT uq_wards_name UNIQUE (name)
);

CREATE TABLE providers (
    provider_id   INTEGER     NOT NULL PRIMARY KEY,
    first_name    VARCHAR(40) NOT NULL,
    last_name     VARCHAR(40) NOT NULL,
    role          VARCHAR(20) NOT NULL CHECK (role IN ('physician', 'surgeon', 'nurse', 'therapist')),
    ward_id       INTEGER     NOT NULL REFERENCES wards (ward_id),
    supervisor_id INTEGER     NULL REFERENCES providers (provider_id),
    license_no    VARCHAR(12) NOT NULL,
    email         VARCHAR(80) NULL,
    hired_on      DATE        NOT NULL,
    CONSTRAINT uq_providers_license_no UNIQUE (license_no),
    CONSTRAINT uq_providers_email UNIQUE (email),
    CHECK (supervisor_id IS NULL OR supervisor_id <> provider_id)
);

CREATE TABLE patients (
    patient_id INTEGER     NOT NULL PRIMARY KEY,
    mrn        CHAR(10)    NOT NULL,
    first_name VARCHAR(40) NOT NULL,
    last_name  VARCHAR(40) NOT NULL,
    sex        CHAR(1)     NOT NULL CHECK (sex IN ('F', 'M', 'X')),
    birth_date DATE        NOT NULL,
    death_date DATE        NULL,
    phone      VARCHAR(20) NULL,
    email      VARCHAR(80) NULL,
    street     VARCHAR(80) NULL,
    city       VARCHAR(40) NOT NULL,
    state      CHAR(2)     NOT NULL,
    zip        CHAR(5)     NULL,
    insurance  VARCHAR(20) NOT NULL CHECK (insurance IN ('medicare', 'medicaid', 'private', 'self_pay')),
    CONSTRAINT uq_patients_mrn UNIQUE (mrn),
    CHECK (death_date IS NULL OR death_date >= birth_date)
);

CREATE TABLE admissions (
    admission_id   INTEGER       NOT NULL PRIMARY KEY,
    patient_id     INTEGER       NOT NULL REFERENCES patients (patient_id),
    ward_id        INTEGER       NOT NULL REFERENCES wards (ward_id),
    attending_id   INTEGER       NOT NULL REFERENCES providers (provider_id),
    admitted_at    TIMESTAMP     NOT NULL,
    discharged_at  TIMESTAMP     NULL,
    status         VARCHAR(12)   NOT NULL DEFAULT 'discharged'
        CHECK (status IN ('admitted', 'discharged', 'transferred', 'deceased')),
    admission_type VARCHAR(10)   NOT NULL CHECK (admission_type IN ('emergency', 'urgent', 'elective')),
    total_charge   NUMERIC(10,2) NOT NULL CHECK (total_charge >= 0),
    notes          TEXT          NULL,
    CHECK (discharged_at IS NULL OR discharged_at >= admitted_at),
    CHECK ((status = 'admitted' AND discharged_at IS NULL) OR (status <> 'admitted' AND discharged_at IS NOT NULL))
);

CREATE TABLE diagnoses (
    admission_id INTEGER    NOT NULL REFERENCES admissions (admission_id),
    seq          INTEGER    NOT NULL CHECK (seq >= 1),
    code         VARCHAR(8) NOT NULL REFERENCES diagnosis_codes (code),
    is_primary   BOOLEAN    NOT NULL CHECK (is_primary IN (0, 1)),
    diagnosed_at TIMESTAMP  NOT NULL,
    PRIMARY KEY (admission_id, seq)
);

CREATE TABLE lab_results (
    lab_id        INTEGER     NOT NULL PRIMARY KEY,
    admission_id  INTEGER     NOT NULL REFERENCES admissions (admission_id),
    diagnosis_seq INTEGER     NULL,
    test_name     VARCHAR(20) NOT NULL
        CHECK (test_name IN ('glucose', 'hba1c', 'creatinine', 'hemoglobin', 'wbc', 'potassium', 'sodium')),
    value         REAL        NOT NULL CHECK (value >= 0),
    unit          VARCHAR(10) NOT NULL,
    flag          CHAR(1)     NOT NULL CHECK (flag IN ('L', 'N', 'H')),
    collected_at  TIMESTAMP   NOT NULL,
    FOREIGN KEY (admission_id, diagnosis_seq) REFERENCES diagnoses (admission_id, seq)
);

CREATE TABLE procedures (
    procedure_id   INTEGER     NOT NULL PRIMARY KEY,
    admission_id   INTEGER     NOT NULL REFERENCES admissions (admission_id),
    performed_by   INTEGER     NOT NULL REFERENCES providers (provider_id),
    assisted_by    INTEGER     NULL REFERENCES providers (provider_id),
    procedure_code VARCHAR(10) NOT NULL,
    performed_at   TIMESTAMP   NOT NULL,
    duration_min   INTEGER     NOT NULL CHECK (duration_min > 0),
    CHECK (assisted_by IS NULL OR assisted_by <> performed_by)
);

CREATE TABLE care_team (
    admission_id INTEGER     NOT NULL REFERENCES admissions (admission_id),
    provider_id  INTEGER     NOT NULL REFERENCES providers (provider_id),
    care_role    VARCHAR(12) NOT NULL CHECK (care_role IN ('attending', 'consulting', 'nursing')),
    PRIMARY KEY (admission_id, provider_id)
);

CREATE TABLE transfers (
    transfer_id    INTEGER   NOT NULL PRIMARY KEY,
    admission_id   INTEGER   NOT NULL REFERENCES admissions (admission_id),
    from_ward_id   INTEGER   NOT NULL REFERENCES wards (ward_id),
    to_ward_id     INTEGER   NOT NULL REFERENCES wards (ward_id),
    transferred_at TIMESTAMP NOT NULL,
    CHECK (from_ward_id <> to_ward_id)
);

CREATE INDEX ix_providers_ward ON providers (ward_id);
CREATE INDEX ix_admissions_patient ON admissions (patient_id);
CREATE INDEX ix_admissions_ward ON admissions (ward_id);
CREATE INDEX ix_lab_results_admission ON lab_results (admission_id, diagnosis_seq);
CREATE INDEX ix_procedures_admission ON procedures (admission_id);
CREATE INDEX ix_care_team_provider ON care_team (provider_id);
