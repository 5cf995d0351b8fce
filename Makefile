# bangfu: builds bangfu.so for `kore -c conf/bangfu.conf`, and runs it.
# `make run` and `make test` set up everything on a fresh machine.

CC		?= cc
# What scripts/deps.sh installs is read when a recipe runs, after `deps`
# (every compile has it as an order-only prerequisite), never when make
# parses this file: on a fresh machine Kore is not there yet.  So no
# `VAR := $(shell ...)` here (scripts/fresh-check.sh checks both).
KORE_FEATURES	= $(shell cat /usr/share/kore/features 2>/dev/null)
WARN		= -Wall -Wextra -Werror -Wstrict-prototypes \
		  -Wmissing-prototypes -Wshadow -Wpointer-arith
CFLAGS_BASE	= -std=gnu11 -fPIC -D_GNU_SOURCE $(KORE_FEATURES) \
		  -Iapp -Imodules $(WARN) -g
OPT		?= -O2
SAN		= -fsanitize=address,undefined -fno-sanitize-recover=all \
		  -fno-omit-frame-pointer
LIBS		= -lhiredis -ljwt -ljansson -lsodium -lpq -lcrypto

APP_SRC		= $(wildcard app/*.c)
MOD_SRC		= $(wildcard modules/*.c)
UNIT_SRC	= $(wildcard tests/unit/test_*.c)

OBJ		= $(patsubst %.c,build/rel/%.o,$(APP_SRC) $(MOD_SRC))
OBJ_SAN		= $(patsubst %.c,build/san/%.o,$(APP_SRC) $(MOD_SRC))
UNIT_BIN	= $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))

.PHONY: all deps build run stop test unit api bench clean format \
	format-check shape-check demo ledger-check docs fuzz admin schema backup restore drill

all: build

deps:
	@scripts/deps.sh

build: deps bangfu.so build/pwhash docs

# The contract as JSON and its Redoc pages (assets/api/, tools/docs/).
docs: | deps
	@scripts/docs.sh

bangfu.so: $(OBJ) | deps
	$(CC) -shared -o $@ $(OBJ) $(LIBS)

build/test/bangfu.so: $(OBJ_SAN) | deps
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN) -o $@ $(OBJ_SAN) $(LIBS)

build/rel/%.o: %.c $(wildcard modules/*.h) $(wildcard app/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) -c $< -o $@

build/san/%.o: %.c $(wildcard modules/*.h) $(wildcard app/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN) -DBANGFU_LEAK_CHECK -c $< -o $@

build/pwhash: tools/pwhash.c | deps
	@mkdir -p build
	$(CC) $(WARN) -O2 -o $@ $< -lsodium

# Unit tests: each module with its cmocka test, under ASan and UBSan.
build/unit/test_%: tests/unit/test_%.c $(MOD_SRC) $(wildcard modules/*.h) | deps
	@mkdir -p build/unit
	$(CC) -std=gnu11 -D_GNU_SOURCE -Imodules $(WARN) -Wno-missing-prototypes \
	    -O1 -g $(SAN) -o $@ $< modules/$*.c $(filter-out modules/$*.c,$(MOD_SRC)) -lcmocka -ljansson

# The placer (app/placer.c) with Kore and the pool stubbed in the test.
build/unit/test_placer: tests/unit/test_placer.c app/placer.c $(wildcard app/*.h) | deps
	@mkdir -p build/unit
	$(CC) $(CFLAGS_BASE) -Wno-missing-prototypes -O1 $(SAN) -o $@ $< -lpq -lcmocka

# The C twins of SQL functions, for tests/api/test_sql_twins.py.
build/twins: tests/twins/twins.c $(MOD_SRC) $(wildcard modules/*.h) | deps
	@mkdir -p build
	$(CC) -std=gnu11 -D_GNU_SOURCE -Imodules $(WARN) -O1 -g $(SAN) \
	    -o $@ $< $(MOD_SRC) -ljansson

unit: deps $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# The libFuzzer harnesses of tests/fuzz/, FUZZ_SECONDS each (default 60).
fuzz: deps
	@scripts/fuzz.sh

run: build
	@scripts/run.sh

stop:
	@INSTANCE=run scripts/stop.sh

test: deps format-check shape-check
	@scripts/test.sh

bench: build
	@scripts/bench.sh

demo: build
	@scripts/setup-db.sh

format: deps
	clang-format -i app/*.c app/*.h modules/*.c modules/*.h tests/unit/*.c tests/fuzz/*.c \
	    tests/fuzz/*.h tests/twins/*.c tools/*.c

# scripts/schema/functions.sql from make run's database, after a migration.
schema: deps
	@scripts/setup-db.sh >/dev/null
	@scripts/schema.sh dump

format-check: deps
	@scripts/format-check.sh

# No file of app/ over 600 lines, no two that call each other (issue 16).
shape-check: bangfu.so
	@scripts/shape-check.sh

# An operator account, or a new password for one: the password is read
# from the terminal or standard input (GENERATE=1 makes one), never argv.
admin: build/pwhash
	@scripts/admin.sh "$(EMAIL)" "$(NAME)"

# The ledger against the orders of INSTANCE (run by default): exit 1 and
# each disagreeing line when they differ.
ledger-check:
	@scripts/ledger_check.sh

# The replicated cluster (scripts/cluster.sh): a base backup (BACKUP_TYPE
# full, diff or incr), a point-in-time restore into a new cluster (checked
# with ledger-check, its orders counted), and the fault drills.
backup:
	@scripts/cluster.sh backup

restore:
	@scripts/cluster.sh restore "$(TARGET)"

drill: build
	@scripts/cluster.sh start >/dev/null
	@scripts/cluster.sh drill $(DRILLS)

clean:
	rm -rf build bangfu.so
