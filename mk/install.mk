# mk/install.mk: make install / make uninstall.
#
#   make install [PREFIX=/usr/local] [DESTDIR=/staging/root] [BINDIR=...]
#                [LIBDIR=...] [INCLUDEDIR=...] [MANDIR=...] [RESOLVERDIR=...]
#                [PYTHON_DIR=...]
#
# Installs ccoordctl(1) into BINDIR, the shared library (real file + SONAME and development links),
# the static archive, the headers, the stock resolver plugins into
# RESOLVERDIR, libclustercoord.pc into LIBDIR/pkgconfig, the man pages and
# the Python package (bindings/python/clustercoord) into PYTHON_DIR, by
# default the directory Debian's python3 reads for packages installed by
# the system.
# DESTDIR is prepended to every path written and to nothing else, so what
# is installed still refers to PREFIX.

INSTALL      ?= install
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# Debian's python3 reads /usr/lib/python3/dist-packages (the system's) and
# /usr/local/lib/python3.X/dist-packages (the administrator's)
PY_VERSION   := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)
PYTHON_DIR   ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(PY_VERSION)/dist-packages)
PY_FILES     := $(wildcard bindings/python/clustercoord/*.py) bindings/python/clustercoord/py.typed
MAN_PAGES    := $(wildcard man/man1/*.1 man/man3/*.3 man/man5/*.5 man/man7/*.7)

# The library embeds RESOLVERDIR (the default plugin_dir) and the .pc file
# embeds every path.  `make && make install PREFIX=/usr` must not install a
# library that looks for plugins under /usr/local: this stamp changes when
# the paths do, and what embeds them is rebuilt.
CCOORD_PATHS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(RESOLVERDIR) $(VERSION)

build/.paths: ccoord-paths-force
	@mkdir -p $(@D)
	@printf '%s\n' '$(CCOORD_PATHS)' | cmp -s - $@ 2>/dev/null || \
	  printf '%s\n' '$(CCOORD_PATHS)' > $@

$(OBJ) build/$(NAME).pc: build/.paths

ccoord-paths-force:

install: all
	$(INSTALL) -d -m 0755 $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/clustercoord $(DESTDIR)$(RESOLVERDIR) $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(CCOORDCTL) $(DESTDIR)$(BINDIR)/ccoordctl
	$(INSTALL) -m 0644 build/$(REAL) $(DESTDIR)$(LIBDIR)/$(REAL)
	ln -sf $(REAL) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/$(NAME).so
	$(INSTALL) -m 0644 build/$(NAME).a $(DESTDIR)$(LIBDIR)/$(NAME).a
	$(INSTALL) -m 0644 include/clustercoord.h $(DESTDIR)$(INCLUDEDIR)/clustercoord.h
	$(INSTALL) -m 0644 $(wildcard include/clustercoord/*.h) $(DESTDIR)$(INCLUDEDIR)/clustercoord/
	$(INSTALL) -m 0644 build/$(NAME).pc $(DESTDIR)$(PKGCONFIGDIR)/$(NAME).pc
	@set -e; for p in $(PLUGINS); do \
	  echo "$(INSTALL) -m 0644 $$p $(DESTDIR)$(RESOLVERDIR)/"; \
	  $(INSTALL) -m 0644 $$p $(DESTDIR)$(RESOLVERDIR)/; \
	done
	@set -e; for m in $(MAN_PAGES); do \
	  sec=$${m#man/}; sec=$${sec%%/*}; \
	  $(INSTALL) -d -m 0755 $(DESTDIR)$(MANDIR)/$$sec; \
	  $(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/$$sec/; \
	done; echo "installed $(words $(MAN_PAGES)) man page(s) under $(DESTDIR)$(MANDIR)"
	$(INSTALL) -d -m 0755 $(DESTDIR)$(PYTHON_DIR)/clustercoord
	$(INSTALL) -m 0644 $(PY_FILES) $(DESTDIR)$(PYTHON_DIR)/clustercoord/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ccoordctl
	rm -f $(DESTDIR)$(LIBDIR)/$(REAL) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/$(NAME).so $(DESTDIR)$(LIBDIR)/$(NAME).a \
	  $(DESTDIR)$(PKGCONFIGDIR)/$(NAME).pc $(DESTDIR)$(INCLUDEDIR)/clustercoord.h
	rm -f $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(wildcard include/clustercoord/*.h))
	rm -f $(patsubst build/drivers/%,$(DESTDIR)$(RESOLVERDIR)/%,$(PLUGINS))
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/%,$(MAN_PAGES))
	rm -f $(patsubst bindings/python/%,$(DESTDIR)$(PYTHON_DIR)/%,$(PY_FILES))
	-rmdir $(DESTDIR)$(PYTHON_DIR)/clustercoord 2>/dev/null
	-rmdir $(DESTDIR)$(INCLUDEDIR)/clustercoord $(DESTDIR)$(RESOLVERDIR) \
	  $(DESTDIR)$(LIBDIR)/clustercoord 2>/dev/null

.PHONY: install uninstall ccoord-paths-force

# Where the Python package goes (test/check-install.sh).
print-python-dir:
	@echo $(PYTHON_DIR)

.PHONY: print-python-dir
