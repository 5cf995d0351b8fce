-- What the workspaces show beyond the contract: a fee rule's versions, a
-- vendor's credit events for operators, and a vendor's own record (its
-- application's review, qualification, credit and their events).  Reads
-- only; NULL answers 404.

-- Every saved version of a fee rule, newest first, as fee_rule_json shows it.
CREATE FUNCTION api_fee_rule_history(p_rule bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM fee_rules WHERE id = p_rule) THEN NULL
    ELSE json_build_object('items', coalesce((SELECT json_agg(json_build_object(
            'id', h.id, 'changed_at', h.changed_at,
            'changed_by', CASE WHEN u.id IS NULL THEN NULL
                ELSE json_build_object('id', u.id, 'name', u.name) END,
            'rule', fee_rule_json(jsonb_populate_record(NULL::fee_rules, h.snapshot)))
            ORDER BY h.id DESC)
        FROM fee_rule_history h LEFT JOIN users u ON u.id = h.changed_by
        WHERE h.rule_id = p_rule), '[]')) END
$$;

CREATE FUNCTION credit_event_json(e credit_events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id, 'kind', e.kind, 'points', e.points,
        'note', e.note, 'score_after', e.score_after,
        'level_after', credit_level(e.score_after), 'created_at', e.created_at)
$$;

-- A vendor's credit events, newest first, a page of them (operators).
CREATE FUNCTION api_admin_credit_events(p_vendor bigint, p_page integer,
    p_per_page integer) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor) THEN NULL
    ELSE json_build_object(
        'items', coalesce((SELECT json_agg(credit_event_json(e) ORDER BY e.id DESC)
            FROM (SELECT * FROM credit_events WHERE vendor_id = p_vendor
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) e), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM credit_events WHERE vendor_id = p_vendor)) END
$$;

-- The signed-in vendor's own record: its application as reviewed, its
-- qualification and credit, the reviews and the credit events (newest
-- first, the last 100).  No operator is named.  NULL (404) before it applies.
CREATE FUNCTION api_vendor_profile(p_user bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', v.id, 'name', v.name, 'kind', v.kind,
        'status', v.status, 'credit_code', v.credit_code,
        'county', json_build_object('code', c.code, 'name', c.name,
                                    'is_poverty_county', c.is_poverty_county),
        'region', json_build_object('code', r.code, 'name', r.name),
        'poor_households_linked', v.poor_households_linked,
        'description', v.description,
        'qualified', vendor_qualified(v.status, v.qualified_until, v.credit_score),
        'qualified_until', v.qualified_until, 'credit_score', v.credit_score,
        'credit_level', credit_level(v.credit_score),
        'reviewed_at', v.reviewed_at, 'review_reason', v.review_reason,
        'created_at', v.created_at,
        'reviews', coalesce((SELECT json_agg(json_build_object('decision', w.decision,
                'qualified_until', w.qualified_until, 'reason', w.reason,
                'reviewed_at', w.reviewed_at) ORDER BY w.id DESC)
            FROM vendor_reviews w WHERE w.vendor_id = v.id), '[]'),
        'credit_events', coalesce((SELECT json_agg(credit_event_json(e) ORDER BY e.id DESC)
            FROM (SELECT * FROM credit_events WHERE vendor_id = v.id
                  ORDER BY id DESC LIMIT 100) e), '[]'))
    FROM vendors v JOIN counties c ON c.id = v.county_id
    JOIN regions r ON r.id = c.region_id
    WHERE v.user_id = p_user
$$;
