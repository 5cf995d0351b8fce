-- Demo data beyond the catalog: the fee-waiver rules of the orders issue.
BEGIN;
INSERT INTO fee_rules (name, commission_bps, waiver_bps, match, cap_fen_per_month,
                       valid_from, priority, created_by)
SELECT x.name, x.c, x.w, x.m::jsonb, x.cap, '2026-01-01+08', x.prio,
       (SELECT id FROM users WHERE email = 'admin@demo.bangfu.cn')
FROM (VALUES
    ('平台佣金 5%', 500, 0, '{}', NULL::bigint, 0),
    ('贫困县合格商家 佣金全免', 500, 10000,
     '{"qualified": true, "poverty_county": true}', NULL, 20),
    ('合作社 佣金减半 每月封顶¥2,000', 500, 5000,
     '{"vendor_kind": "cooperative"}', 200000, 10)
) AS x(name, c, w, m, cap, prio)
WHERE NOT EXISTS (SELECT 1 FROM fee_rules);
INSERT INTO fee_rule_history (rule_id, changed_by, snapshot)
SELECT r.id, r.created_by, to_jsonb(r) FROM fee_rules r
WHERE NOT EXISTS (SELECT 1 FROM fee_rule_history h WHERE h.rule_id = r.id);
COMMIT;

-- 以购代捐: the demo enterprise, its buyer, approver and admin, and this
-- year's plan (budget ¥2,000,000, 30% reserved for paired-region products,
-- approval above ¥50,000).  Safe to run again.
BEGIN;
INSERT INTO orgs (name, kind, credit_code, created_by)
SELECT '上海联合发展集团有限公司', 'soe', '91310000132260859U', u.id
FROM users u WHERE u.email = 'admin@demo.bangfu.cn'
ON CONFLICT (credit_code) DO NOTHING;
INSERT INTO org_members (org_id, user_id, role, added_by)
SELECT o.id, u.id, m.role, o.created_by
FROM orgs o, (VALUES ('buyer@demo.bangfu.cn', 'buyer'),
                     ('approver@demo.bangfu.cn', 'approver'),
                     ('admin@demo.bangfu.cn', 'admin')) AS m(email, role)
JOIN users u ON u.email = m.email
WHERE o.credit_code = '91310000132260859U'
ON CONFLICT DO NOTHING;
INSERT INTO procurement_plans (org_id, year, budget_fen, reserved_fen,
    reserved_share_bps, reserved_basis, approval_threshold_fen, updated_by)
SELECT o.id, shanghai_year(now()), 200000000, 60000000, 3000, 'share', 5000000,
       o.created_by
FROM orgs o WHERE o.credit_code = '91310000132260859U'
ON CONFLICT (org_id, year) DO NOTHING;
COMMIT;

-- 旅游与康养 (issue 14): every demo service gets dated sessions over the
-- next 60 days, with capacities as such trips run: a multi-day tour leaves
-- on Saturdays with one minibus (16 seats), a study trip on Saturdays with
-- 20, a day tour or cultural visit four days a week with 25, a wellness
-- stay takes arrivals on Mondays and Thursdays for 8 guests (four
-- rooms).  Bookings close at 18:00 Shanghai the day before.  Cancellation:
-- tours refund in full up to 7 days ahead and half up to 2; stays in full
-- up to 14 days and half up to 3.  Safe to run again.
BEGIN;
INSERT INTO service_sessions (product_id, vendor_id, date, capacity, book_until)
SELECT p.id, p.vendor_id, d, k.cap,
       ((d - 1)::timestamp + time '18:00') AT TIME ZONE 'Asia/Shanghai'
FROM products p
JOIN categories c ON c.id = p.category_id
CROSS JOIN LATERAL (SELECT CASE
        WHEN c.code = 'wellness' THEN 'stay'
        WHEN p.title ~ '(一日游|文化体验)' THEN 'day'
        WHEN p.title ~ '研学' THEN 'study'
        ELSE 'tour' END AS kind) t
CROSS JOIN LATERAL (SELECT CASE t.kind WHEN 'stay' THEN 8 WHEN 'day' THEN 25
        WHEN 'study' THEN 20 ELSE 16 END AS cap,
        CASE t.kind WHEN 'stay' THEN ARRAY[1, 4] WHEN 'day' THEN ARRAY[2, 4, 6, 7]
        ELSE ARRAY[6] END AS days) k
CROSS JOIN LATERAL generate_series(shanghai_today() + 1, shanghai_today() + 60,
                                   interval '1 day') AS g(ts)
CROSS JOIN LATERAL (SELECT g.ts::date AS d) x
WHERE p.kind = 'service' AND p.status = 'listed'
  AND extract(isodow FROM d)::integer = ANY (k.days)
  AND NOT EXISTS (SELECT 1 FROM service_sessions s WHERE s.product_id = p.id)
ORDER BY p.id, d;
INSERT INTO cancellation_rules (product_id, rules)
SELECT p.id, CASE WHEN c.code = 'wellness'
    THEN '[{"days_before": 14, "refund_bps": 10000}, {"days_before": 3, "refund_bps": 5000}]'
    ELSE '[{"days_before": 7, "refund_bps": 10000}, {"days_before": 2, "refund_bps": 5000}]'
    END::jsonb
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.kind = 'service'
ON CONFLICT (product_id) DO NOTHING;
COMMIT;
