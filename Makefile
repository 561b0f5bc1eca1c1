# sockwatch — one plain Makefile. `make V=1` shows the commands.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
BUILD   ?= build

CC      ?= cc
CFLAGS  ?= -O3 -g
# Link-time optimisation: the packet path crosses decode, traffic and
# peers; measured 9% faster offline analysis (docs/benchmarks.md, 3).
# The link compiles again, so it gets the warnings as errors too, but for
# "may be used uninitialized": across files it guesses past the checks of
# a callee's return value.
LTO     ?= -flto=auto
SAN     ?=
# Archives of LTO objects need the compiler's plugin: gcc-ar brings it
# (plain ar finds it only where binutils was set up to).
ifeq ($(origin AR),default)
AR      := $(if $(strip $(LTO)),gcc-ar,ar)
endif
PKGS    := libnl-3.0 jansson libpcap libcap-ng
DPKGS   := inih sqlite3 libmicrohttpd libsystemd libnftnl libmnl libseccomp \
           libcurl

# BPF iterators (monitor/bpfiter.c, monitor/bpf/): built when the kernel
# of the build machine publishes its BTF (vmlinux.h is generated from it)
# and clang, bpftool and libbpf are there; otherwise sockwatch has only
# the sock_diag and /proc path, which it falls back to at run time anyway.
# `make BPF=0` leaves them out; `make BPF=1` insists on them.
BTF_VMLINUX ?= /sys/kernel/btf/vmlinux
BPFTOOL ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
ifeq ($(origin BPF),undefined)
BPF := $(if $(and $(wildcard $(BTF_VMLINUX)),$(wildcard $(BPFTOOL)),\
         $(shell command -v clang 2>/dev/null),\
         $(shell pkg-config --exists libbpf 2>/dev/null && echo y)),1,0)
ifeq ($(BPF),0)
$(info sockwatch: building without BPF iterators: needs $(BTF_VMLINUX), \
  bpftool, clang and libbpf (make deps installs the last three))
endif
endif

# pkg-config runs when make parses this file; the targets that install
# packages first re-enter make so that it runs again afterwards.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
DPKG_CFLAGS := $(shell pkg-config --cflags $(DPKGS) 2>/dev/null)
DPKG_LIBS   := $(shell pkg-config --libs $(DPKGS) 2>/dev/null)
# Only the CLI draws on a terminal (sockwatch top).
CURSES_LIBS   := $(shell pkg-config --libs ncursesw 2>/dev/null)

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Werror
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ALL_CFLAGS  = -std=gnu11 $(CFLAGS) $(LTO) $(WARN) $(HARDEN) $(SAN) $(PKG_CFLAGS) \
              $(DPKG_CFLAGS) $(BPF_CFLAGS) \
              -MMD -MP
ALL_LDFLAGS = -pthread -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN) \
              $(CFLAGS) $(LTO) $(WARN) -Wno-maybe-uninitialized $(LDFLAGS)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

LIB_SRC   := common/log.c common/addr.c common/duration.c \
             common/evloop.c common/timeutil.c common/util.c common/ipc.c \
             monitor/sockdiag.c monitor/proc.c monitor/socktable.c monitor/decode.c \
             monitor/capture.c monitor/peers.c monitor/localaddr.c \
             monitor/capstate.c monitor/linkmon.c \
             monitor/infra.c monitor/bpfrec.c monitor/bpfiter.c \
             monitor/sockstat.c
# What only the daemon (and the CLI's daemon-side helpers) need.
DLIB_SRC  := $(wildcard policy/*.c exporter/*.c) \
             common/privdrop.c common/sandbox.c
CLI_SRC   := cli/sockout.c cli/table.c cli/views.c cli/topview.c
CLI_MAIN  := cli/main.c cli/sockets.c cli/client.c cli/daemon_cmds.c \
             cli/analyze.c cli/bans.c cli/top.c cli/topconn.c
DAEMON_SRC := $(wildcard daemon/*.c)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
BENCH_SRC := bench/nldump.c bench/mkpcap.c bench/pcap_floor.c bench/peers_mem.c \
             bench/synblast.c bench/pcap_live.c bench/nft_floor.c

OBJ = $(BUILD)/obj
LIB_OBJ   := $(LIB_SRC:%.c=$(OBJ)/%.o)
DLIB_OBJ  := $(DLIB_SRC:%.c=$(OBJ)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(OBJ)/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIBSW     := $(BUILD)/libsockwatch.a
LIBSWD    := $(BUILD)/libsockwatchd.a
# Test helpers linked with the libraries (the integration tests run them).
LIBTOOLS  := $(BUILD)/tools/sdkill $(BUILD)/tools/nftdrive

# Keep objects that only pattern rules name.
.SECONDARY:

.PHONY: all deps run test unit integration asan asan-ci bench fuzz \
        fuzz-smoke promtool-check completion-check install deb clean

all: $(BUILD)/sockwatch $(BUILD)/sockwatchd

deps:
	@scripts/install-deps.sh

# The daemon in the foreground on the shipped config, with its default
# paths; `build/sockwatch status` in another terminal talks to it.
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p /run/sockwatch /var/lib/sockwatch /var/log/sockwatch
	./$(BUILD)/sockwatchd -f -c etc/sockwatch.conf

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(BENCH_BIN)
	@$(MAKE) --no-print-directory unit promtool-check completion-check \
	    fuzz-smoke integration

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# The Prometheus rules (promtool check and unit tests) and the Grafana
# dashboard of etc/; test_prometheus runs them against a real server.
promtool-check:
	@tests/prometheus/check.sh

# etc/sockwatch.bash-completion against the programs' usage texts.
completion-check: all
	@tests/completion/test_completion.sh $(BUILD)

integration: all $(LIBTOOLS)
	@tests/integration/run.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CFLAGS='-O1 -g' LTO= \
	    SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    unit integration

# What CI runs under ASan+UBSan besides the unit tests: the integration
# tests that feed the daemon hostile or broken input (packets, captures,
# control requests, a broken database, clock steps, interfaces going), in
# a few minutes. The rest are timing tests of attack tools, which a
# sanitizer's slowdown makes fail for the wrong reason; `make asan` runs
# them all.
ASAN_CI_TESTS := test_traffic_scans test_traffic_replay test_privsep \
	test_daemon_control test_cli_errors test_daemon_store \
	test_daemon_clock test_capture_heal test_daemon_prune test_bans \
	test_spoof test_sockets test_traffic_bruteforce_log
asan-ci:
	@SW_TESTS='$(ASAN_CI_TESTS)' $(MAKE) --no-print-directory asan

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	bench/sockets.sh $(BUILD)
	bench/guessers.sh $(BUILD)

$(OBJ)/%.o: %.c
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --- monitor/bpf: the BPF iterators, compiled once against this kernel's
# BTF (CO-RE: the object relocates itself to the kernel it is loaded on),
# stripped of DWARF by bpftool's linker, and embedded by the skeleton.
GEN := $(BUILD)/gen
ifeq ($(BPF),1)
# Light skeletons make raw bpf() calls: libbpf's headers, not the library.
BPF_CFLAGS := -DSW_BPF -I$(GEN) $(shell pkg-config --cflags libbpf 2>/dev/null)
$(GEN)/vmlinux.h:
	$(call msg,GEN,$@)
	@mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) btf dump file $(BTF_VMLINUX) format c > $@.tmp && \
	    mv $@.tmp $@
$(GEN)/%.bpf.o: monitor/bpf/%.bpf.c monitor/bpf/sockiter.h $(GEN)/vmlinux.h
	$(call msg,BPF,$<)
	$(Q)clang -target bpf -O2 -g -Wall -Werror -I$(GEN) -Imonitor/bpf \
	    -c -o $@.full.o $< && $(BPFTOOL) gen object $@ $@.full.o && \
	    rm -f $@.full.o
$(GEN)/%.lskel.h: $(GEN)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton -L $< name $* > $@.tmp && mv $@.tmp $@
$(OBJ)/monitor/bpfiter.o: $(GEN)/taskfiles.lskel.h $(GEN)/inetsocks.lskel.h
endif
# --- end monitor/bpf ----------------------------------------------------

$(LIBSW): $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBSWD): $(DLIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# --- policy/config: the shipped etc/sockwatch.conf, compiled in ---------
# config_load_default() parses config_default_text[], a NUL-terminated byte
# array generated from etc/sockwatch.conf (bytes, so nothing needs quoting).
# Its object is one more prerequisite (and so member) of the daemon library.
DEFCONF_C := $(BUILD)/gen/default_conf.c
DEFCONF_O := $(OBJ)/gen/default_conf.o
$(DEFCONF_C): etc/sockwatch.conf
	$(call msg,GEN,$@)
	@mkdir -p $(dir $@)
	$(Q){ echo '/* Generated from etc/sockwatch.conf by the Makefile. */'; \
	  echo 'extern const char config_default_text[];'; \
	  echo 'const char config_default_text[] = {'; \
	  od -An -v -tx1 etc/sockwatch.conf | \
	    sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp && mv $@.tmp $@
$(DEFCONF_O): $(DEFCONF_C)
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(LIBSWD): $(DEFCONF_O)
# --- end policy/config ------------------------------------------------

$(BUILD)/sockwatch: $(CLI_MAIN:%.c=$(OBJ)/%.o) $(CLI_OBJ) $(LIBSWD) $(LIBSW)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DPKG_LIBS) $(PKG_LIBS) \
	    $(CURSES_LIBS)

$(BUILD)/sockwatchd: $(DAEMON_SRC:%.c=$(OBJ)/%.o) $(LIBSWD) $(LIBSW)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DPKG_LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(CLI_OBJ) $(LIBSWD) $(LIBSW)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DPKG_LIBS) $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIBSW)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Test helpers, e.g. tests/tools/nlcapture.c -> $(BUILD)/tools/nlcapture.
$(BUILD)/tools/%: $(OBJ)/tests/tools/%.o
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

# Test helpers that call the libraries: sdkill (sockdiag_destroy_peer),
# nftdrive (policy/nft.c against the kernel); and the nftables benchmark.
$(LIBTOOLS): $(BUILD)/tools/%: $(OBJ)/tests/tools/%.o $(LIBSWD) $(LIBSW)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DPKG_LIBS) $(PKG_LIBS)

$(BUILD)/bench/nft_floor: $(OBJ)/bench/nft_floor.o $(LIBSWD) $(LIBSW)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DPKG_LIBS) $(PKG_LIBS)

# libFuzzer targets: clang only, with ASan and UBSan. Both libraries are
# compiled once more that way into one archive, from which each target
# takes what it calls.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ  = $(BUILD)/fuzzobj
FUZZ_LIB := $(BUILD)/libfuzz.a
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 $(FUZZ_SAN) $(PKG_CFLAGS) $(DPKG_CFLAGS) \
               -MMD -MP
fuzz: $(FUZZ_BIN)
# Each target a few seconds over a copy of its corpus (the tree's stays).
FUZZ_SMOKE_SECS ?= 3
fuzz-smoke: $(FUZZ_BIN)
	@SW_FUZZ_ARTIFACTS=$(BUILD)/fuzz/artifacts \
	    tests/fuzz/smoke.sh $(FUZZ_SMOKE_SECS) $(FUZZ_BIN)
$(FUZZ_OBJ)/%.o: %.c
	$(call msg,CLANG,$<)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_OBJ)/gen/default_conf.o: $(DEFCONF_C)
	$(call msg,CLANG,$<)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_LIB): $(LIB_SRC:%.c=$(FUZZ_OBJ)/%.o) $(DLIB_SRC:%.c=$(FUZZ_OBJ)/%.o) \
    $(FUZZ_OBJ)/gen/default_conf.o
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/%: $(FUZZ_OBJ)/tests/fuzz/%.o $(FUZZ_LIB)
	$(call msg,FUZZ,$@)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(DPKG_LIBS) \
	    $(PKG_LIBS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/sockwatch $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/sockwatch $(DESTDIR)$(BINDIR)/sockwatch
	install -m 0755 $(BUILD)/sockwatchd $(DESTDIR)$(SBINDIR)/sockwatchd
	install -m 0644 docs/sockwatch.8 docs/sockwatchd.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/sockwatch.conf.5 $(DESTDIR)$(MANDIR)/man5/
	@# bash-completion loads a command's completion by its name.
	install -m 0644 etc/sockwatch.bash-completion \
	    $(DESTDIR)$(BASHCOMPDIR)/sockwatch
	install -m 0644 etc/sockwatch.bash-completion \
	    $(DESTDIR)$(BASHCOMPDIR)/sockwatchd
	@# An existing configuration is the administrator's: never overwrite.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sockwatch/sockwatch.conf ]; then \
	    echo "keeping $(DESTDIR)$(SYSCONFDIR)/sockwatch/sockwatch.conf"; \
	else \
	    install -m 0644 etc/sockwatch.conf \
	        $(DESTDIR)$(SYSCONFDIR)/sockwatch/sockwatch.conf; \
	fi
	sed 's|/usr/local/sbin/sockwatchd|$(SBINDIR)/sockwatchd|' \
	    etc/sockwatchd.service > $(DESTDIR)$(UNITDIR)/sockwatchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sockwatchd.service
	sed 's|/usr/local/bin/sockwatch|$(BINDIR)/sockwatch|' \
	    etc/sockwatch.logrotate > \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/sockwatch
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/sockwatch
	@# The unit runs sockwatchd as the system user sockwatch. A staged
	@# install (DESTDIR set) leaves this host's accounts alone.
	@if [ -n "$(DESTDIR)" ]; then \
	    echo "DESTDIR set: not creating the user sockwatch"; \
	elif getent passwd sockwatch >/dev/null; then \
	    :; \
	elif [ "$$(id -u)" -ne 0 ]; then \
	    echo "no user sockwatch, and only root can create it" >&2; \
	else \
	    echo "creating the system user and group sockwatch"; \
	    { getent group sockwatch >/dev/null || \
	        groupadd --system sockwatch; } && \
	    useradd --system --gid sockwatch --home-dir /nonexistent \
	        --no-create-home --shell /usr/sbin/nologin sockwatch; \
	fi

# The Debian package, built from a copy of the tree (build/ is left as it
# is) into $(BUILD)/deb, and checked with lintian.
deb: deps
	@scripts/mkdeb.sh $(BUILD)/deb

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
