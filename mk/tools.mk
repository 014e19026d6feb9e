# mk/tools.mk: ccoordctl(1), the operator's command (tools/ccoordctl.c).
#
#   make tools    build/bin/ccoordctl
#
# It links the static archive: it uses the library's own SQL (lib/rows.c)
# and transactions (lib/taskstate.c), which are not exported.  `make
# install` puts it in BINDIR; test/node_ctl runs it in `make check`.

CCOORDCTL := build/bin/ccoordctl

$(CCOORDCTL): tools/ccoordctl.c include/clustercoord.h $(wildcard lib/*.h) build/$(NAME).a
	@mkdir -p $(@D)
	$(CC) $(BASE) -Ilib $(WARN) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< build/$(NAME).a $(LIBS) \
	  $(LDFLAGS)

all: $(CCOORDCTL)
tools: $(CCOORDCTL)

.PHONY: tools
