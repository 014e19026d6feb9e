# mk/meta.mk: meta tests, run by `make check` through the check-extra hook
# (the ideas of curl's tests 1119 and 1477):
#   test/check-exports.sh  the built library's exports == the version script
#                          == the CCOORD_API prototypes of the header (and
#                          each export carries its map node's version);
#   test/check-docs.sh     each export has its man3 page and a CHANGELOG.md
#                          entry, ccoord-errors(7) == CCOORD_STATUS_MAP,
#                          mandoc lint is clean, the man page examples compile.

check-extra:: build/$(REAL)
	sh test/check-exports.sh build/$(REAL) lib/libclustercoord.map include/clustercoord.h
	sh test/check-docs.sh

# test/check-toml.py: lib/toml.c against Python's tomllib on hand-written
# valid and invalid documents and seeded random mutations of them.
check-extra:: build/test/prog_tomldump
	python3 test/check-toml.py
