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
