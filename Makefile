# MPCL Lab. `make run` and `make test` do all the set-up (see README.md).
CC      ?= gcc
PKGS    := lua5.4 zlib readline ncursesw libcjson
CFLAGS  ?= -O3 -g
# What the code needs whatever CFLAGS says. -fno-ipa-pure-const -fno-ipa-modref: with them,
# GCC 12.2 judged net.c's forward_from (calls to external functions with the address of a
# local struct) free of side effects and deleted the calls to it at -O1 and above (UBSan
# finds nothing; clang and -O0 keep the calls). -ffp-contract=off: a * b + c is two roundings
# wherever it is written so (GNU C and clang would fuse it on CPUs with FMA, and results
# would then depend on the instruction set: core/isa.h).
MPCL_CFLAGS := -DMPCL_VERSION=\"0.3.0\" -std=c11 -ffp-contract=off -fno-math-errno -fno-ipa-pure-const \
           -fno-ipa-modref -Wall -Wextra \
           -Werror -D_GNU_SOURCE -D_XOPEN_SOURCE_EXTENDED -pthread \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# The project's headers: every folder's for every file, except core/'s own files, which see
# only core/ (the engine includes nothing from the folders built on it: the compiler checks;
# pattern-specific INCLUDES below).
INCLUDES = -Icore -Iplugins -Iscripting -Isessions -Iconsole
ALL_CFLAGS = $(CFLAGS) $(MPCL_CFLAGS) $(INCLUDES)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread -ldl
B       := build

# core/ is the engine (and the chip interface, chip.h); plugins/ the chip backends (sim, link,
# wire): both go into libmpcl.a.
CORE_SRC := $(wildcard core/*.c plugins/*.c)
LAB_SRC  := $(wildcard scripting/*.c sessions/*.c console/*.c)
APP_SRC  := $(filter-out app/chipd.c,$(wildcard app/*.c))
TEST_SRC := $(wildcard tests/unit/test_*.c)
PLUGINS_TEST := $(B)/tests/plugin_badabi.so $(B)/tests/plugin_nosym.so $(B)/tests/plugin_abi1.so

CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
LAB_OBJ  := $(LAB_SRC:%.c=$(B)/obj/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(B)/obj/%.o)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
ASAN_TESTS := $(TEST_SRC:tests/unit/%.c=$(B)/asan/tests/%)

$(B)/obj/core/%.o $(B)/asan/obj/core/%.o $(B)/fuzz/obj/core/%.o: INCLUDES = -Icore

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# lab.sweep over MPI: mpcl loads this module only when mpirun started it (scripting/mpi/).
# Built with the MPI compiler wrapper when there is one (make deps installs Open MPI).
# (Defined before `all`, whose prerequisites are expanded as the rule is read.)
MPICC ?= mpicc
MPI_MODULE := $(if $(shell command -v $(MPICC) 2>/dev/null),$(B)/mpcl-mpi.so)

.PHONY: all deps run test bench fuzz clean install uninstall
.SECONDARY:
all: $(B)/mpcl $(B)/mpcl-bench $(B)/mpcl-bench-lua $(B)/mpcl-bench-chip $(B)/mpcl-bench-frame $(B)/mpcl-baselines $(TESTS) $(PLUGINS_TEST) \
     $(B)/mpcl-chipd $(B)/mpcl-bench-link $(B)/tests/chipd-abuse $(B)/mpcl-bench-irdrop \
     $(MPI_MODULE)

$(B)/mpcl-mpi.so: scripting/mpi/module.c scripting/mpi/module.h Makefile
	@mkdir -p $(dir $@)
	@echo "  MPICC   $@"
	@$(MPICC) $(CFLAGS) -std=c11 -Wall -Wextra -Werror -fPIC -shared -o $@ $<

deps:
	@tools/deps.sh

$(B)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/asan/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -MMD -MP -c $< -o $@

$(B)/libmpcl.a: $(CORE_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(B)/asan/libmpcl.a: $(CORE_SRC:%.c=$(B)/asan/obj/%.o)
	@rm -f $@
	@ar rcs $@ $^

$(B)/liblab.a: $(LAB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(B)/asan/liblab.a: $(LAB_SRC:%.c=$(B)/asan/obj/%.o)
	@rm -f $@
	@ar rcs $@ $^

# mpcl's own allocations are counted and capped (core/memcap.h, app/memwrap.c).
MEMWRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=aligned_alloc,--wrap=posix_memalign

$(B)/mpcl: $(APP_OBJ) $(LAB_OBJ) $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(MEMWRAP) -o $@ $^ $(LDLIBS)

$(B)/asan/mpcl: $(APP_SRC:%.c=$(B)/asan/obj/%.o) $(LAB_SRC:%.c=$(B)/asan/obj/%.o) $(B)/asan/libmpcl.a
	@echo "  LD asan $@"
	@$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $(MEMWRAP) -o $@ $^ $(LDLIBS)

$(B)/mpcl-bench: $(B)/obj/tests/perf/bench_engine.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# The fixed order's cost against OpenBLAS: the only program that links a BLAS (make bench
# installs libopenblas-dev for it and for the PyTorch peer).
$(B)/obj/tests/perf/gemm_bench.o: tests/perf/gemm_bench.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags openblas 2>/dev/null) -MMD -MP -c $< -o $@

$(B)/mpcl-bench-gemm: $(B)/obj/tests/perf/gemm_bench.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

$(B)/mpcl-bench-chip: $(B)/obj/tests/perf/chip_bench.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/mpcl-bench-irdrop: $(B)/obj/tests/perf/irdrop_bench.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/mpcl-baselines: $(B)/obj/tests/perf/baselines.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/mpcl-bench-frame: $(B)/obj/tests/perf/frame_bench.o $(B)/liblab.a $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/mpcl-bench-lua: $(B)/obj/tests/perf/lua_overhead.o $(B)/liblab.a $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/liblab.a $(B)/libmpcl.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(B)/asan/tests/%: $(B)/asan/obj/tests/unit/%.o $(B)/asan/liblab.a $(B)/asan/libmpcl.a
	@mkdir -p $(dir $@)
	@echo "  LD asan $@"
	@$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The board emulator, its abuse test and the link benchmark (docs/protocol.md).
$(B)/mpcl-chipd: $(B)/obj/app/chipd.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/asan/mpcl-chipd: $(B)/asan/obj/app/chipd.o $(B)/asan/libmpcl.a
	@echo "  LD asan $@"
	@$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/chipd-abuse: $(B)/obj/tests/link/chipd_abuse.o $(B)/obj/tests/link/chipd_crowd.o \
    $(B)/libmpcl.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/mpcl-bench-link: $(B)/obj/tests/perf/link_bench.o $(B)/libmpcl.a
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# ---- Fuzzing: every parser under libFuzzer (tests/fuzz/README.md) ---------------------
# A target NAME is tests/fuzz/fuzz_NAME.c (LLVMFuzzerTestOneInput), its committed seed corpus
# tests/fuzz/corpus/NAME/, and FUZZ_SRC_NAME, the sources it links: adding one is a word in
# FUZZ_TARGETS and one FUZZ_SRC_ line. Each builds twice: build/fuzz-NAME (clang, libFuzzer,
# ASan+UBSan) and build/fuzz-NAME-replay (gcc, ASan+UBSan, tests/fuzz/replay.c's main), which
# replays a corpus. make test runs each for FUZZ_TEST_TIME seconds (5) on a copy of its
# corpus and replays the corpus; make fuzz runs each for FUZZ_TIME seconds (120).
FUZZ_TARGETS := wire idx store simopts map luaopts journal
FUZZ_SRC_wire    := plugins/wire.c core/error.c
FUZZ_SRC_idx     := core/data.c core/fileio.c core/rng.c core/error.c
FUZZ_SRC_store   := $(CORE_SRC)
FUZZ_SRC_simopts := $(CORE_SRC)
FUZZ_SRC_map     := $(CORE_SRC)
FUZZ_SRC_luaopts := $(CORE_SRC) $(LAB_SRC)
FUZZ_SRC_journal := sessions/journal.c $(CORE_SRC)
FUZZ_TIME ?= 120
# clang has no -fno-ipa-* (GCC-only) and warns differently: MPCL_CFLAGS less those, no -Werror.
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
           $(filter-out -fno-ipa-pure-const -fno-ipa-modref -Werror,$(MPCL_CFLAGS)) $(INCLUDES)
FUZZ_BINS   := $(FUZZ_TARGETS:%=$(B)/fuzz-%) $(FUZZ_TARGETS:%=$(B)/fuzz-%-replay)
# $(call fuzz_objs,DIR,NAME): target NAME's objects under build/DIR (a function, so that its %
# is not the pattern rules' stem).
fuzz_objs = $(patsubst %.c,$(B)/$(1)/%.o,$(FUZZ_SRC_$(2)))

$(B)/fuzz/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

# clang 14 knows no __builtin_cpu_supports("vaes"): the CPU probe is built by gcc, without
# sanitizers (it parses nothing).
$(B)/fuzz/obj/core/isa.o: core/isa.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $< (gcc)"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

.SECONDEXPANSION:
$(B)/fuzz-%-replay: $(B)/asan/obj/tests/fuzz/fuzz_%.o $(B)/asan/obj/tests/fuzz/replay.o \
                    $$(call fuzz_objs,asan/obj,$$*)
	@echo "  LD asan $@"
	@$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o $$(call fuzz_objs,fuzz/obj,$$*)
	@echo "  LD fuzz $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# Shared libraries for the plugin loader's tests.
$(B)/tests/%.so: tests/unit/%.c core/chip.h Makefile
	@mkdir -p $(dir $@)
	@echo "  SO      $@"
	@$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $<

# run, test and bench install what is missing first, then build in a second make, so that
# pkg-config sees the packages deps has just installed.
run: deps
	@$(MAKE) --no-print-directory $(B)/mpcl
	@if [ -t 0 ] && [ -t 1 ]; then $(B)/mpcl --demo; else $(B)/mpcl assets/scripts/demo.lua; fi

test: deps
	@$(MAKE) --no-print-directory all $(ASAN_TESTS) $(B)/asan/mpcl $(B)/asan/mpcl-chipd \
	    $(FUZZ_BINS)
	@tests/run.sh

fuzz: deps
	@$(MAKE) -s --no-print-directory $(FUZZ_BINS)
	@FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/fuzz.sh $(FUZZ_TARGETS)

# The bench's own packages: the PyTorch peer, OpenBLAS for it and for mpcl-bench-gemm.
bench: export MPCL_EXTRA_PKGS += python3-torch libopenblas0-pthread libopenblas-dev
bench: deps
	@$(MAKE) --no-print-directory $(B)/mpcl-bench $(B)/mpcl-bench-lua $(B)/mpcl-bench-chip $(B)/mpcl-bench-frame $(B)/mpcl \
	    $(B)/mpcl-bench-link $(B)/mpcl-chipd $(B)/mpcl-bench-gemm $(B)/mpcl-bench-irdrop
	@tests/perf/bench.sh

# ---- make install: mpcl and mpcl-chipd on the PATH, the bundled scripts (found by name:
# `mpcl paper.lua`), the MPI module, the man pages. PREFIX (default /usr/local) and DESTDIR.
PREFIX  ?= /usr/local
BINDIR  := $(DESTDIR)$(PREFIX)/bin
SHAREDIR := $(DESTDIR)$(PREFIX)/share/mpcl
LIBDIR  := $(DESTDIR)$(PREFIX)/lib/mpcl
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
INSTALLED_SCRIPTS := $(notdir $(wildcard assets/scripts/*.lua))
INSTALLED_SESSIONS := $(notdir $(wildcard assets/sessions/*.lua))
install: $(B)/mpcl $(B)/mpcl-chipd $(MPI_MODULE)
	install -d $(BINDIR) $(SHAREDIR)/scripts $(SHAREDIR)/sessions $(MANDIR)
	install -m 755 $(B)/mpcl $(B)/mpcl-chipd $(BINDIR)/
	install -m 644 $(addprefix assets/scripts/,$(INSTALLED_SCRIPTS)) $(SHAREDIR)/scripts/
	install -m 644 $(addprefix assets/sessions/,$(INSTALLED_SESSIONS)) $(SHAREDIR)/sessions/
	install -m 644 docs/man/mpcl.1 docs/man/mpcl-chipd.1 $(MANDIR)/
	$(if $(MPI_MODULE),install -d $(LIBDIR) && install -m 755 $(MPI_MODULE) $(LIBDIR)/)

uninstall:
	rm -f $(BINDIR)/mpcl $(BINDIR)/mpcl-chipd $(MANDIR)/mpcl.1 $(MANDIR)/mpcl-chipd.1
	rm -f $(addprefix $(SHAREDIR)/scripts/,$(INSTALLED_SCRIPTS))
	rm -f $(addprefix $(SHAREDIR)/sessions/,$(INSTALLED_SESSIONS)) $(LIBDIR)/mpcl-mpi.so
	-rmdir $(SHAREDIR)/scripts $(SHAREDIR)/sessions $(SHAREDIR) $(LIBDIR) 2>/dev/null

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
