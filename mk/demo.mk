# mk/demo.mk: `make demo`, the README's first command.
#
# Installs the missing Debian packages the build needs first (as root;
# otherwise `deps-build` prints the apt-get line and stops; the test
# suite's servers and tools are not needed), builds the library and the example
# host server, then runs examples/demo.sh: two nodes on SQLite in a
# temporary directory, the owner of sample-task killed with SIGKILL, the
# task taken over by the survivor.  Exits nonzero when the sequence was not
# observed.

demo: deps-build
	@$(MAKE) --no-print-directory all build/examples/host_server
	@sh examples/demo.sh build/examples/host_server examples/host_server/node.conf.in

.PHONY: demo
