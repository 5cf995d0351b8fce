/*
 * twins: the C side of the SQL functions that have a twin in modules/, for
 * tests/api/test_sql_twins.py, which asks PostgreSQL the same questions
 * and compares.  One question per line on standard input, one answer per
 * line on standard output:
 *
 *	tier <list_price> <qty> <n> <min_qty> <unit_price> ...	-> price
 *	share <part> <whole>					-> bps | null
 *
 * cart_tier_price() is tier_price() (migrations/003_orders.sql), and
 * quota_share_bps() is share_bps() (migrations/005_orgs.sql).
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart.h"
#include "quota.h"

#define TIERS_MAX 16

static int
next_int(char **cur, int64_t *out)
{
	char *tok, *end;

	if ((tok = strtok_r(NULL, " \t\n", cur)) == NULL)
		return (0);
	*out = strtoll(tok, &end, 10);
	return (*end == '\0');
}

static int
tier(char **cur)
{
	int64_t list, qty, n, min[TIERS_MAX], price[TIERS_MAX];
	int	i;

	if (!next_int(cur, &list) || !next_int(cur, &qty) ||
	    !next_int(cur, &n) || n < 0 || n > TIERS_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (!next_int(cur, &min[i]) || !next_int(cur, &price[i]))
			return (0);
	printf("%" PRId64 "\n", cart_tier_price(list, min, price, (int)n, qty));
	return (1);
}

static int
share(char **cur)
{
	int64_t part, whole, bps;

	if (!next_int(cur, &part) || !next_int(cur, &whole))
		return (0);
	if (quota_share_bps(part, whole, &bps))
		printf("%" PRId64 "\n", bps);
	else
		printf("null\n");
	return (1);
}

int
main(void)
{
	char line[1024], *cur, *cmd;
	int  ok;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((cmd = strtok_r(line, " \t\n", &cur)) == NULL)
			continue;
		if (strcmp(cmd, "tier") == 0)
			ok = tier(&cur);
		else if (strcmp(cmd, "share") == 0)
			ok = share(&cur);
		else
			ok = 0;
		if (!ok) {
			fprintf(stderr, "twins: bad question: %s\n", cmd);
			return (2);
		}
	}
	return (0);
}
