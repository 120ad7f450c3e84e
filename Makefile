# livd: a LivePage push server.  make run | make check | make install
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
SHAREDIR ?= $(PREFIX)/share/livd
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SHARE_FILES = verbs.yaml livepage.js demo.html livd.yaml
EXAMPLE_FILES = turbo.html htmx.html

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
PKGS	 = libevent yaml-0.1 jansson libcrypto hiredis libcurl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libwslay has no pkg-config file in Debian 12.
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lwslay -lm
READLINE_LIBS = $(shell pkg-config --libs readline 2>/dev/null || echo -lreadline)
B	?= build

LIVD_SRCS = livd/livd.c livd/commands.c livd/config.c livd/control.c \
	livd/ctlspec.c livd/api.c livd/hook.c livd/hookclient.c \
	livd/hmap.c livd/http.c livd/httpparse.c livd/hub.c livd/log.c \
	livd/longpoll.c livd/msg.c livd/publish.c livd/queue.c livd/routes.c \
	livd/sse.c livd/stream.c livd/connect.c livd/frame.c livd/ws.c \
	livd/auth.c livd/state.c livd/metrics.c livd/cluster.c \
	livd/util.c livd/verbs.c livd/yamlfile.c livd/budget.c livd/rate.c \
	livd/flatjson.c
LIVCTL_SRCS = livctl/livctl.c livctl/line.c livctl/print.c livctl/shell.c \
	livctl/stdin.c livd/ctlspec.c livd/util.c
UNIT_SRCS = tests/unit/unit.c livd/msg.c livd/frame.c livd/queue.c livd/verbs.c \
	livd/yamlfile.c livd/util.c livd/httpparse.c livd/config.c \
	livd/hmap.c livd/hub.c livd/log.c livd/auth.c livd/metrics.c \
	livd/ctlspec.c livctl/line.c livd/budget.c livd/flatjson.c

ALL_CFLAGS = $(WARN) $(CFLAGS) $(PKG_CFLAGS) -DLIVD_SHARE_DIR='"$(SHAREDIR)"'
SAN	= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# clang's UBSan checks what GCC's does not, float-cast-overflow first (a
# double out of an integer's range converted to it is undefined).
CLANG_SAN = -fsanitize=address,undefined,float-cast-overflow \
	-fno-omit-frame-pointer -fno-sanitize-recover=all

FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined,float-cast-overflow \
	-fno-sanitize-recover=all
FUZZ_LINK = -fsanitize=fuzzer,address,undefined,float-cast-overflow
FUZZ_TARGETS = control http stdin token yaml
FUZZ_SECONDS ?= 20
F = build-fuzz

.PHONY: all deps run check unit bats lint install uninstall clean asan \
	fuzz fuzz-build bench check-valgrind soak clang-unit

all: $(B)/livd $(B)/livctl

$(B)/obj/%.o: %.c livd/*.h livd/ctl.def livctl/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/livd: $(LIVD_SRCS:%.c=$(B)/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/livctl: $(LIVCTL_SRCS:%.c=$(B)/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(READLINE_LIBS)

$(B)/unit: $(UNIT_SRCS:%.c=$(B)/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

deps:
	@tools/deps.sh build

# Build, start livd with the demo page in the foreground, say what to try.
run: deps
	@$(MAKE) --no-print-directory all
	@tools/run.sh

# The same set-up, then every test: unit tests under ASan and UBSan (GCC's
# and clang's), the bats suites against the normal build and against the
# ASan build.
check:
	@tools/deps.sh check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory B=build-asan CFLAGS="-O1 -g $(SAN)" \
	    LDFLAGS="$(SAN)" build-asan/livd build-asan/livctl build-asan/unit
	build-asan/unit
	@$(MAKE) --no-print-directory clang-unit
	@$(MAKE) --no-print-directory lint
	bats --jobs 2 tests/bats
	LIVD_BUILD=build-asan bats --jobs 2 tests/bats
	tests/browser/run.sh
	@$(MAKE) --no-print-directory fuzz-build
	tools/fuzz.sh 10 $(FUZZ_TARGETS)
	bench/run.sh --tiny

# The unit tests built with clang, under its ASan and UBSan.
clang-unit:
	@$(MAKE) --no-print-directory B=build-clang CC=clang \
	    CFLAGS="-O1 -g $(CLANG_SAN)" LDFLAGS="$(CLANG_SAN)" build-clang/unit
	build-clang/unit

# The bats suites with livd under valgrind: any error or leak makes livd
# exit 99, which each test's teardown catches. Slow, so not in check.
check-valgrind: all
	@mkdir -p build-valgrind
	@printf '#!/bin/sh\nexec valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 "%s/build/livd" "$$@"\n' \
	    "$$(pwd)" >build-valgrind/livd
	@chmod +x build-valgrind/livd
	@ln -sf ../build/livctl build-valgrind/livctl
	LIVD_BUILD=build-valgrind bats tests/bats

# The long flood of tests/stress/flood.py (make check runs a short one in
# tests/bats/budget.bats): several sizes, open and token mode, one livd
# and a cluster of two; minutes, so not in check.
soak: all
	tests/stress/flood-soak.sh

# libFuzzer targets (clang). make check runs each briefly from the
# committed corpus; make fuzz runs them longer (FUZZ_SECONDS each).
fuzz-build:
	@$(MAKE) --no-print-directory B=$(F) CC=clang CFLAGS="-g -O1 $(FUZZ_SAN)" \
	    $(FUZZ_TARGETS:%=$(F)/fuzz_%)

$(F)/obj/livd/livd_nomain.o: livd/livd.c livd/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Dmain=livd_main -c $< -o $@

$(F)/fuzz_http: $(addprefix $(F)/obj/,fuzz/fuzz_http.o livd/httpparse.o livd/util.o)
	$(CC) $(FUZZ_LINK) -o $@ $^
$(F)/fuzz_yaml: $(addprefix $(F)/obj/,fuzz/fuzz_yaml.o livd/verbs.o \
    livd/config.o livd/yamlfile.o livd/util.o livd/httpparse.o)
	$(CC) $(FUZZ_LINK) -o $@ $^ $(PKG_LIBS)
$(F)/fuzz_stdin: $(addprefix $(F)/obj/,fuzz/fuzz_stdin.o livd/msg.o livd/budget.o \
    livd/verbs.o livd/yamlfile.o livd/util.o livctl/line.o)
	$(CC) $(FUZZ_LINK) -o $@ $^ $(PKG_LIBS)
$(F)/fuzz_token: $(addprefix $(F)/obj/,fuzz/fuzz_token.o livd/auth.o \
    livd/log.o livd/util.o)
	$(CC) $(FUZZ_LINK) -o $@ $^ $(PKG_LIBS)
$(F)/fuzz_control: $(F)/obj/fuzz/fuzz_control.o $(F)/obj/livd/livd_nomain.o \
    $(addprefix $(F)/obj/,$(filter-out livd/livd.o,$(LIVD_SRCS:%.c=%.o)))
	$(CC) $(FUZZ_LINK) -o $@ $^ $(PKG_LIBS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Install under DESTDIR/PREFIX. The example livd.yaml goes to SYSCONFDIR
# only when there is none; uninstall leaves it.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(SHAREDIR)/examples \
	    $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR) \
	    $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(B)/livd $(DESTDIR)$(SBINDIR)/livd
	install -m 755 $(B)/livctl $(DESTDIR)$(BINDIR)/livctl
	install -m 644 $(SHARE_FILES:%=share/livd/%) $(DESTDIR)$(SHAREDIR)
	install -m 644 $(EXAMPLE_FILES:%=share/livd/examples/%) \
	    $(DESTDIR)$(SHAREDIR)/examples
	install -m 644 man/livctl.1 $(DESTDIR)$(MANDIR)/man1/livctl.1
	install -m 644 man/livd.yaml.5 $(DESTDIR)$(MANDIR)/man5/livd.yaml.5
	install -m 644 man/livd.8 $(DESTDIR)$(MANDIR)/man8/livd.8
	install -m 644 contrib/livctl.bash $(DESTDIR)$(COMPLETIONDIR)/livctl
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    contrib/livd.service.in >$(DESTDIR)$(UNITDIR)/livd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/livd.service
	test -e $(DESTDIR)$(SYSCONFDIR)/livd.yaml || \
	    install -m 644 share/livd/livd.yaml $(DESTDIR)$(SYSCONFDIR)/livd.yaml

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/livd $(DESTDIR)$(BINDIR)/livctl \
	    $(SHARE_FILES:%=$(DESTDIR)$(SHAREDIR)/%) \
	    $(EXAMPLE_FILES:%=$(DESTDIR)$(SHAREDIR)/examples/%) \
	    $(DESTDIR)$(MANDIR)/man1/livctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/livd.yaml.5 \
	    $(DESTDIR)$(MANDIR)/man8/livd.8 \
	    $(DESTDIR)$(COMPLETIONDIR)/livctl $(DESTDIR)$(UNITDIR)/livd.service
	-rmdir $(DESTDIR)$(SHAREDIR)/examples $(DESTDIR)$(SHAREDIR) 2>/dev/null

# livd against nginx + nchan, side by side in one run (see bench/README.md).
bench: deps
	@$(MAKE) --no-print-directory all
	bench/run.sh

lint:
	mandoc -Tlint -Wwarning man/livd.8 man/livctl.1 man/livd.yaml.5

clean:
	rm -rf build build-asan build-fuzz build-valgrind
