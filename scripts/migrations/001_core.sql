-- The foundation: accounts, the paired regions, vendors, the catalog,
-- batches with trace codes and 百县百品.  Money is bigint fen everywhere.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL,
    password_hash   text NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role            text NOT NULL CHECK (role IN ('citizen', 'vendor', 'admin')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE regions (
    id              smallserial PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('协作', '支援')),
    intro           text NOT NULL DEFAULT '',
    sort            smallint NOT NULL DEFAULT 0
);

CREATE TABLE counties (
    id                  serial PRIMARY KEY,
    region_id           smallint NOT NULL REFERENCES regions,
    code                text NOT NULL UNIQUE,
    name                text NOT NULL,
    is_poverty_county   boolean NOT NULL DEFAULT false
);
CREATE INDEX counties_region ON counties (region_id);

CREATE TABLE categories (
    id              serial PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    sort            smallint NOT NULL DEFAULT 0
);

-- Helper functions that read tables are PL/pgSQL: PostgreSQL caches their
-- plans per connection, where a SQL function that cannot be inlined is
-- planned again on every call.
--
-- Qualified status is derived, never stored: approved, within its period and
-- with a credit score at or above the threshold.  Anything that grants a
-- privilege asks vendor_qualified(), so a lapse takes effect at once.
CREATE TABLE settings (
    key             text PRIMARY KEY,
    value           text NOT NULL
);
INSERT INTO settings VALUES ('credit_threshold', '60');

CREATE TABLE vendors (
    id                      bigserial PRIMARY KEY,
    user_id                 bigint UNIQUE REFERENCES users,
    name                    text NOT NULL,
    kind                    text NOT NULL
                            CHECK (kind IN ('enterprise', 'cooperative', 'individual')),
    county_id               integer NOT NULL REFERENCES counties,
    credit_code             text NOT NULL UNIQUE,
    poor_households_linked  integer NOT NULL DEFAULT 0
                            CHECK (poor_households_linked >= 0),
    description             text NOT NULL DEFAULT '',
    status                  text NOT NULL DEFAULT 'pending_review'
                            CHECK (status IN ('pending_review', 'approved', 'rejected')),
    qualified_until         date,
    credit_score            integer NOT NULL DEFAULT 100,
    reviewed_by             bigint REFERENCES users,
    reviewed_at             timestamptz,
    review_reason           text,
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vendors_county ON vendors (county_id);
CREATE INDEX vendors_status ON vendors (status);

CREATE FUNCTION credit_threshold() RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT value::integer FROM settings WHERE key = 'credit_threshold');
END $$;

CREATE FUNCTION vendor_qualified(status text, until date, score integer)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT status = 'approved' AND until IS NOT NULL
       AND until >= (now() AT TIME ZONE 'Asia/Shanghai')::date
       AND score >= credit_threshold()
$$;

CREATE FUNCTION credit_level(score integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN score >= 90 THEN 'A' WHEN score >= 75 THEN 'B'
                WHEN score >= 60 THEN 'C' ELSE 'D' END
$$;

CREATE TABLE products (
    id              bigserial PRIMARY KEY,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    category_id     integer NOT NULL REFERENCES categories,
    kind            text NOT NULL DEFAULT 'goods' CHECK (kind IN ('goods', 'service')),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    description     text NOT NULL DEFAULT '',
    unit            text NOT NULL,
    price_fen       bigint NOT NULL CHECK (price_fen > 0),
    stock           integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'listed', 'unlisted')),
    images          jsonb NOT NULL DEFAULT '[]',
    sales           bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Stock and sales change with every order: room on each page lets those
-- updates stay HOT (no index entries to write).
ALTER TABLE products SET (fillfactor = 80);
CREATE INDEX products_vendor ON products (vendor_id);
CREATE INDEX products_listed ON products (status, category_id);

-- Price tiers: the unit price reached by a quantity (min_qty 1 is the list price).
CREATE TABLE price_tiers (
    product_id      bigint NOT NULL REFERENCES products ON DELETE CASCADE,
    min_qty         integer NOT NULL CHECK (min_qty >= 2),
    unit_price_fen  bigint NOT NULL CHECK (unit_price_fen > 0),
    PRIMARY KEY (product_id, min_qty)
);

CREATE TABLE certifications (
    id              bigserial PRIMARY KEY,
    product_id      bigint NOT NULL REFERENCES products ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('green', 'organic', 'gi')),
    number          text NOT NULL,
    valid_until     date NOT NULL,
    UNIQUE (product_id, kind)
);

CREATE TABLE batches (
    id                      bigserial PRIMARY KEY,
    product_id              bigint NOT NULL REFERENCES products,
    code                    text NOT NULL,
    produced_on             date NOT NULL,
    base                    text NOT NULL,
    inspection_result       text NOT NULL CHECK (inspection_result IN ('pass', 'fail', 'pending')),
    inspection_report_no    text,
    inspected_on            date,
    -- 16 base32 characters from 80 random bits: unique and not derivable
    -- from any other code.
    trace_code              text NOT NULL UNIQUE,
    created_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, code)
);

CREATE FUNCTION new_trace_code() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    b bytea := gen_random_bytes(16);
    out text := '';
BEGIN
    FOR i IN 0..15 LOOP
        out := out || substr(alphabet, (get_byte(b, i) % 32) + 1, 1);
    END LOOP;
    RETURN out;
END $$;
ALTER TABLE batches ALTER COLUMN trace_code SET DEFAULT new_trace_code();

-- 百县百品: at most one live designation per poverty county, held by the
-- partial unique index; a revoked designation stays as history.
CREATE TABLE bxbp_designations (
    id              bigserial PRIMARY KEY,
    product_id      bigint NOT NULL REFERENCES products,
    county_id       integer NOT NULL REFERENCES counties,
    designated_by   bigint REFERENCES users,
    designated_at   timestamptz NOT NULL DEFAULT now(),
    revoked_by      bigint REFERENCES users,
    revoked_at      timestamptz
);
CREATE UNIQUE INDEX bxbp_one_per_county ON bxbp_designations (county_id)
    WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX bxbp_one_per_product ON bxbp_designations (product_id)
    WHERE revoked_at IS NULL;

CREATE FUNCTION bxbp_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM counties c JOIN vendors v ON v.county_id = c.id
                   JOIN products p ON p.vendor_id = v.id
                   WHERE p.id = NEW.product_id AND c.id = NEW.county_id
                     AND c.is_poverty_county) THEN
        RAISE EXCEPTION 'product % is not from poverty county %',
            NEW.product_id, NEW.county_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bxbp_check BEFORE INSERT ON bxbp_designations
    FOR EACH ROW EXECUTE FUNCTION bxbp_check();

CREATE TABLE campaigns (
    id              bigserial PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    title           text NOT NULL,
    theme           text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
    match           jsonb NOT NULL DEFAULT '{}',
    boost_weight    integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaign_products (
    campaign_id     bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
    product_id      bigint NOT NULL REFERENCES products,
    PRIMARY KEY (campaign_id, product_id)
);
