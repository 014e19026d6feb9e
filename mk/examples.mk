# mk/examples.mk: the examples, built in tree, and the checks that use them
# (included by the Makefile; `make check` runs the check-extra hooks after
# the tests).
#
#   make examples   build/examples/host_server, build/examples/host_loop
#
# examples/custom_resolver and examples/python are built and run by their
# checks against an installed copy (custom resolver) or build/ (Python).

EXAMPLE_PROGS := build/examples/host_server build/examples/host_loop

examples: $(EXAMPLE_PROGS)

# Links the shared library in build/; the run path finds it from
# build/examples without LD_LIBRARY_PATH.
build/examples/host_server: examples/host_server/host_server.c include/clustercoord.h \
                            include/clustercoord/version.h build/$(REAL)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) -o $@ $< $(LDFLAGS) -Lbuild -lclustercoord \
	  -Wl,-rpath,'$$ORIGIN/..'

build/examples/host_loop: examples/host_loop/host_loop.c include/clustercoord.h \
                          include/clustercoord/version.h build/$(REAL)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) -o $@ $< $(LDFLAGS) -Lbuild -lclustercoord -lpthread \
	  -Wl,-rpath,'$$ORIGIN/..'

# After the tests: install + pkg-config, the out-of-tree resolver in a
# cluster, the Python binding, and the two-node demo.
check-extra:: all $(EXAMPLE_PROGS)
	@sh test/check-install.sh
	@sh test/check-custom-resolver.sh
	@sh test/check-python.sh
	@sh test/check-host-loop.sh build/examples/host_loop examples/host_server/node.conf.in
	@sh examples/demo.sh build/examples/host_server examples/host_server/node.conf.in

.PHONY: examples
