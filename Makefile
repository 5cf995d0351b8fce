# bangfu: builds bangfu.so for `kore -c conf/bangfu.conf`, and runs it.
# `make run` and `make test` set up everything on a fresh machine.

CC		?= cc
KORE_FEATURES	:= $(shell cat /usr/share/kore/features 2>/dev/null)
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
	format-check demo ledger-check admin

all: build

deps:
	@scripts/deps.sh

build: deps bangfu.so build/pwhash

bangfu.so: $(OBJ)
	$(CC) -shared -o $@ $(OBJ) $(LIBS)

build/test/bangfu.so: $(OBJ_SAN)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN) -o $@ $(OBJ_SAN) $(LIBS)

build/rel/%.o: %.c app/bangfu.h $(wildcard modules/*.h) $(wildcard app/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) -c $< -o $@

build/san/%.o: %.c app/bangfu.h $(wildcard modules/*.h) $(wildcard app/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN) -c $< -o $@

build/pwhash: tools/pwhash.c
	@mkdir -p build
	$(CC) $(WARN) -O2 -o $@ $< -lsodium

# Unit tests: each module with its cmocka test, under ASan and UBSan.
build/unit/test_%: tests/unit/test_%.c $(MOD_SRC) $(wildcard modules/*.h)
	@mkdir -p build/unit
	$(CC) -std=gnu11 -D_GNU_SOURCE -Imodules $(WARN) -Wno-missing-prototypes \
	    -O1 -g $(SAN) -o $@ $< modules/$*.c $(filter-out modules/$*.c,$(MOD_SRC)) -lcmocka

unit: deps $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

run: build
	@scripts/run.sh

stop:
	@INSTANCE=run scripts/stop.sh

test: deps format-check
	@scripts/test.sh

bench: build
	@scripts/bench.sh

demo: build
	@scripts/setup-db.sh

format:
	clang-format -i app/*.c app/*.h modules/*.c modules/*.h tests/unit/*.c tools/*.c

format-check:
	@scripts/format-check.sh

# An operator account, or a new password for one: the password is read
# from the terminal or standard input (GENERATE=1 makes one), never argv.
admin: build/pwhash
	@scripts/admin.sh "$(EMAIL)" "$(NAME)"

# The ledger against the orders of INSTANCE (run by default): exit 1 and
# each disagreeing line when they differ.
ledger-check:
	@scripts/ledger_check.sh

clean:
	rm -rf build bangfu.so
