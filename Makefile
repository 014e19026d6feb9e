# libclustercoord: GNU make, no autotools.
#   make            library (.so + .a), resolver plugins, pkg-config file
#   make check      every test (installs missing Debian packages as root,
#                   starts throwaway PostgreSQL and MariaDB servers)
#   make demo       two-node cluster demo on SQLite
# Other targets live in mk/*.mk (one file per concern).

VERSION     := 1.1.0
ABI_MAJOR   := 1
NAME        := libclustercoord
SONAME      := $(NAME).so.$(ABI_MAJOR)
REAL        := $(NAME).so.$(VERSION)

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
RESOLVERDIR ?= $(LIBDIR)/clustercoord/resolvers

CC          ?= cc
CFLAGS      ?= -O2 -g
WARN        := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wno-format-nonliteral
BASE        := -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -Iinclude
DEP_CFLAGS  := $(shell pkg-config --cflags dbi inih 2>/dev/null)
DEP_LIBS    := $(shell pkg-config --libs dbi inih 2>/dev/null || echo -ldbi -linih)
LIBS        := $(DEP_LIBS) -lsqlite3 -ldl -lpthread

LIB_SRC     := $(wildcard lib/*.c)
OBJ         := $(patsubst %.c,build/%.o,$(LIB_SRC))
# Stock resolvers: each is a plugin (build/drivers/<name>.so) and is also
# built into the library, used when plugin_dir has no file of that name.
DRIVERS     := $(notdir $(patsubst %/,%,$(wildcard drivers/*/)))
PLUGINS     := $(patsubst %,build/drivers/%.so,$(DRIVERS))
BUILTIN_OBJ := $(patsubst %,build/builtin/%.o,$(DRIVERS))

TEST_UTIL   := test/testutil.c
UNIT_TESTS  := $(patsubst test/%.c,build/test/%,$(wildcard test/unit_*.c))
# node_galera needs a Galera cluster: make check-galera (mk/galera.mk) runs it
NODE_TESTS  := $(filter-out build/test/node_galera,$(patsubst test/%.c,build/test/%,$(wildcard test/node_*.c)))
API_TESTS   := $(patsubst test/%.c,build/test/%,$(wildcard test/api_*.c))
TEST_PROGS  := $(patsubst test/%.c,build/test/%,$(wildcard test/prog_*.c))
TPLUGINS    := $(patsubst test/plugins/%.c,build/test/plugins/%.so,$(wildcard test/plugins/*.c))
ALL_TESTS   := $(UNIT_TESTS) $(NODE_TESTS) $(API_TESTS)

all: build/$(REAL) build/$(NAME).a $(PLUGINS) build/$(NAME).pc

build/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) $(DEP_CFLAGS) -DCCOORD_BUILDING \
	  -DCCOORD_RESOLVERDIR='"$(RESOLVERDIR)"' -MMD -MP -c $< -o $@

build/builtin/%.o: drivers/%/*.c include/clustercoord/resolver.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) -Dccoord_resolver_entry=ccoord__builtin_$*_entry \
	  -c $(firstword $(wildcard drivers/$*/$*.c)) -o $@

build/$(REAL): $(OBJ) $(BUILTIN_OBJ) lib/libclustercoord.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libclustercoord.map \
	  -Wl,--no-undefined $(LDFLAGS) -o $@ $(OBJ) $(BUILTIN_OBJ) $(LIBS)
	ln -sf $(REAL) build/$(SONAME)
	ln -sf $(SONAME) build/$(NAME).so

build/$(NAME).a: $(OBJ) $(BUILTIN_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

.SECONDEXPANSION:
build/drivers/%.so: $$(wildcard drivers/$$*/*.c) include/clustercoord/resolver.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) -shared -Wl,--no-undefined $(LDFLAGS) -o $@ $(filter %.c,$^)

build/test/plugins/%.so: test/plugins/%.c include/clustercoord/resolver.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) -shared -o $@ $<

# unit_* and node_* tests link the static archive (they may reach internals);
# api_* tests link the shared library and see only the exports.
build/test/unit_% build/test/node_% build/test/prog_%: test/$$(notdir $$@).c $(TEST_UTIL) $(wildcard test/*.h) build/$(NAME).a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) $(DEP_CFLAGS) -Ilib -Itest -o $@ $< $(TEST_UTIL) \
	  build/$(NAME).a $(LIBS) -lcmocka

build/test/api_%: test/api_%.c build/$(REAL)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) -o $@ $< -Lbuild -lclustercoord -lcmocka

build/$(NAME).pc: pkgconfig/$(NAME).pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@RESOLVERDIR@|$(RESOLVERDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

tests: all $(ALL_TESTS) $(TPLUGINS) $(TEST_PROGS)

# Installs missing Debian packages (root) or prints the apt-get line:
# deps-build what the build and the demo need, deps all the tests need too.
deps-build:
	@sh test/deps.sh build

deps:
	@sh test/deps.sh test

# Unit tests first (no server needed), then every database test with the
# throwaway servers running; the servers are stopped whatever happens.
check: deps
	@$(MAKE) --no-print-directory tests
	@sh test/run-tests.sh $(ALL_TESTS)
	@$(MAKE) --no-print-directory check-extra

# Hooks other mk/*.mk files append to (meta checks, examples, install...).
check-extra::
	@true

clean:
	rm -rf build

-include $(OBJ:.o=.d)
-include mk/*.mk

.PHONY: all tests deps deps-build check check-extra clean
