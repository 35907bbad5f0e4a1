# x86 racebed: build the kernel and its GRUB ISO, boot it in QEMU, run the CI harness.
#   make          build build/racebed.elf and build/racebed.iso
#   make run      boot the ISO in QEMU: a live view, the raw log in build/run/serial.log (RAW=1: raw)
#   make test     unit tests + boot matrix, checked against host/expect/$(ACCEL).exp
#   make test-full  the same, the whole suite in every config (make test boots subsets in some)
#   make debug    QEMU waiting for GDB on :1234
#   make list     the experiments (name, family, description), read from the sources: no boot
#   make arch-rules  docs/arch-rules.md: every verdict with its manual section and quote
#   make docs     the experiment tables of README.md and tests/*/README.md, from the .description
#   make new-experiment NAME=... FAMILY=...  tests/FAMILY/NAME.c from the template
#   make report   tools/racebed-report over the logs of the last make test (HTML in build/report)
#   make platforms-table  README.md's headline table from the reference logs in host/samples/platforms
#   make format-check  the C lines changed since main (or HEAD~1) against .clang-format
#   make typecheck  mypy over the Python (make test runs it, beside the build)
# Variables: SMP=8 ACCEL=tcg|kvm UEFI=1 MACHINE=pc|q35 ARGS="kernel command line" RAW=1

SMP ?= 8
ACCEL ?= tcg
UEFI ?=
MACHINE ?= pc
ARGS ?=
FONT ?= /usr/share/consolefonts/Lat15-Terminus16.psf.gz

B := build
CC := gcc
LD := ld
PYTHON := python3

KCFLAGS := -std=gnu11 -ffreestanding -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-fno-stack-protector -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-toplevel-reorder \
	-O2 -g -Wall -Wextra -Werror -I. -I$(B)/gen -MMD -MP
KASFLAGS := -g -I. -MMD -MP
HOSTCFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I. -I$(B)/gen

# Experiments: every source under tests/ (one folder per family). The run order is declared
# by each experiment (.order: family and rank), not by link order.
EXPERIMENTS := $(sort $(wildcard tests/*/*.c tests/*/*.S))

KSRCS := $(wildcard boot/*.S) $(wildcard boot/*.c) $(wildcard lib/*.c) $(wildcard arch/x86/*.S) $(wildcard arch/x86/*.c) \
	$(wildcard kernel/*.c) $(wildcard patching/*.c) $(EXPERIMENTS)
KOBJS := $(patsubst %,$(B)/obj/%.o,$(KSRCS)) $(B)/obj/gen/font.c.o

UNIT_PURE := lib/printf.c lib/glob.c kernel/cmdline.c kernel/arch_rules.c boot/mb2.c boot/mb1.c boot/bootinfo.c \
	arch/x86/acpi.c arch/x86/mptable.c
UNIT_TESTS := $(patsubst host/unit/%.c,$(B)/unit/%,$(wildcard host/unit/test_*.c))

ISO := $(B)/racebed.iso
ELF := $(B)/racebed.elf
QEMU_OPTS = --smp $(SMP) --accel $(ACCEL) --machine $(MACHINE) $(if $(UEFI),--uefi)

.PHONY: all run test debug unit deps clean bench check-layers list report lab lab-deps arch-rules
all: $(ISO)

deps:
	@sh tools/host-deps.sh

$(B)/.deps-ok: tools/host-deps.sh
	@sh tools/host-deps.sh
	@mkdir -p $(B) && touch $@

$(B)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -c $< -o $@

$(B)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(B)/obj/gen/font.c.o: $(B)/gen/font.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(B)/gen/font.c: tools/psf2c.py $(B)/.deps-ok
	@mkdir -p $(dir $@)
	$(PYTHON) tools/psf2c.py $(FONT) $@

$(ELF): $(KOBJS) linker.ld
	$(LD) -n -T linker.ld -z noexecstack --no-warn-rwx-segments -o $@ $(KOBJS)

# The command line is baked into grub.cfg: rebuild the ISO when ARGS changes.
$(B)/args.txt: FORCE
	@mkdir -p $(B)
	@echo '$(ARGS)' | cmp -s - $@ || echo '$(ARGS)' > $@

$(ISO): $(ELF) $(B)/args.txt tools/mkiso.sh iso/grub.cfg.in $(B)/.deps-ok
	bash tools/mkiso.sh $(ELF) $@ $(ARGS)

# A live view (host/racebed_harness/live.py), the raw log in build/run/serial.log; RAW=1: the raw
# KTAP on this terminal as it comes (Ctrl-A X quits).
RAW ?=
run: $(ISO)
	$(PYTHON) host/qemu.py --iso $(ISO) $(QEMU_OPTS) $(if $(RAW),,--live $(B)/run/serial.log)

debug: $(ISO)
	$(PYTHON) host/qemu.py --iso $(ISO) $(QEMU_OPTS) --debug

# Throughput benchmark: boots with `bench` (10x budgets) at SMP=2 and SMP=8, prints one table
# and writes build/bench/bench.json and bench.png (host/bench.py; BENCH_TESTS, BENCH_REPEAT,
# BENCH_SMP, BENCH_OUT override). PLATFORM=bochs boots Bochs instead of QEMU (rates per
# simulated second); BENCH_ALSO=DIR,... adds earlier BENCH_OUT folders' runs to the plot.
BENCH_TESTS ?= ipi_*,sti_shadow_nmi,movss_shadow_*,nmi_storm,nmi_nested_bp,poke_call_flip,poke_batch,poke_patcher_pairs
BENCH_REPEAT ?= 1
BENCH_SMP ?= 2,8
BENCH_OUT ?= $(B)/bench$(if $(filter bochs,$(PLATFORM)),-bochs)
BENCH_ALSO ?=
bench: $(B)/racebed32.elf $(ELF)
	$(PYTHON) host/bench.py --kernel $(B)/racebed32.elf --elf $(ELF) --smp $(BENCH_SMP) \
		--accel $(ACCEL) --platform $(PLATFORM) --out $(BENCH_OUT) --also '$(BENCH_ALSO)' \
		--tests '$(BENCH_TESTS)' --repeat $(BENCH_REPEAT) --args '$(ARGS)'


# Sources a unit test links (default: UNIT_PURE).
UNIT_SRCS_test_fbcon := kernel/fbcon.c $(B)/gen/font.c
UNIT_SRCS_test_qr := kernel/qr.c lib/lib.c kernel/results_qr.c kernel/fbcon.c $(B)/gen/font.c \
	lib/printf.c
$(B)/unit/test_qr: kernel/qr.c kernel/qr.h kernel/results_qr.c kernel/results_qr.h
UNIT_SRCS_test_results_screen := kernel/results.c kernel/fbcon.c $(B)/gen/font.c lib/printf.c \
	kernel/arch_rules.c lib/glob.c

$(B)/unit/%: host/unit/%.c $(UNIT_PURE) host/unit/check.h host/unit/bootinfo_check.h host/unit/screen_text.h $(B)/gen/font.c kernel/fbcon.c kernel/results.c
	@mkdir -p $(dir $@)
	$(CC) $(HOSTCFLAGS) $< $(or $(UNIT_SRCS_$*),$(UNIT_PURE)) $(UNIT_EXTRA_$*) -o $@

# the classification test includes every experiment's rules and the classifier headers
UNIT_EXTRA_test_classify := tests/poke/poke_classify.c
$(B)/unit/test_classify: $(B)/gen/arch_rules_all.c $(wildcard tests/*/*_classify.h) \
	kernel/arch_rules.h kernel/arch_quotes.h tests/movss/movss_pos.h \
	$(UNIT_EXTRA_test_classify)

# Every ARCH_RULES table in tests/ (each experiment's file holds its own), in link order, as one
# array for the host unit test.
$(B)/gen/arch_rules_all.c: $(filter %.c,$(EXPERIMENTS))
	@mkdir -p $(dir $@)
	awk 'BEGIN { print "/* generated from tests/: every ARCH_RULES table, in link order */"; \
		print "static const struct arch_rule all_rules[] = {" } \
		/^ARCH_RULES\(/ { on = 1; next } on && /^};/ { on = 0; next } on { print } \
		END { print "};" }' $^ > $@

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

check-layers:
	@$(PYTHON) host/check_layers.py

# Only the lines a change touches (tools/format-check: since the merge base with main, on main
# since HEAD~1; FORMAT_BASE=REV overrides); format-fix reformats exactly those lines.
.PHONY: format-check format-fix
format-check: | $(B)/.deps-ok
	@sh tools/format-check
format-fix: | $(B)/.deps-ok
	@sh tools/format-check --fix

# Linux's own KTAP parser (tools/testing/kunit) from Debian's linux-source-6.1: only that folder.
KUNIT_PY := $(B)/kunit/linux-source-6.1/tools/testing/kunit/kunit.py
$(KUNIT_PY): | $(B)/.deps-ok
	@mkdir -p $(B)/kunit
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(B)/kunit --wildcards 'linux-source-6.1/tools/testing/kunit/*'
	@touch $@

# make test: everything the boots need is built in parallel (kernel, ISO, unit tests, kunit.py,
# the host-side tests), then the boot matrix runs alone, as its experiments are timed.
NPROC := $(shell nproc 2>/dev/null || echo 2)
# The LAVA job make test runs under lava-run: a subset proves the job and its monitor against
# real output (make lab runs the whole suite).
LAB_TESTS ?= boot,ipi_*,exceptions,sti_shadow_nmi,movss_db_next,poke_call_flip,poke_strategy_mce

.PHONY: test-prep host-tests host-tests-kunit typecheck test-full
test-prep: $(ELF) $(ISO) $(UNIT_TESTS) $(B)/.deps-ok check-layers format-check docs-check platforms-check \
	$(KUNIT_PY) host-tests host-tests-kunit typecheck

# The harness's tests (host/tests; some read build/racebed.elf); those that run Linux's kunit.py
# wait for it to be unpacked, and fail if it is not there.
host-tests: $(ELF) | $(B)/.deps-ok
	$(PYTHON) tools/arch-rules.py --check docs/arch-rules.md $(ELF)
	$(PYTHON) -m unittest discover -s host/tests -t host -q -p 'test_*.py'
host-tests-kunit: $(KUNIT_PY)
	RACEBED_REQUIRE_KUNIT=1 $(PYTHON) -m unittest discover -s host/tests -t host -q -p 'kunit_test.py'

# mypy (Debian's) over the Python in host/, tools/ and lab/: mypy.ini names the files and the checks.
typecheck: | $(B)/.deps-ok
	mypy --config-file mypy.ini

HARNESS = ACCEL=$(ACCEL) $(PYTHON) host/harness.py --elf $(ELF) --out $(B)/test --kunit $(KUNIT_PY) \
	$(patsubst %,--unit %,$(UNIT_TESTS)) $(if $(filter tcg,$(ACCEL)),--lab $(ISO) --lab-tests '$(LAB_TESTS)')

# PLATFORM=bochs: the Bochs platform matrix instead (host/matrix-bochs.txt: the whole suite on an
# Intel and an AMD model at 2 and 4 CPUs; logs in build/test-bochs).
PLATFORM ?= qemu
BOCHS_HARNESS = $(PYTHON) host/harness.py --elf $(ELF) --out $(B)/test-bochs --kunit $(KUNIT_PY) \
	--matrix host/matrix-bochs.txt --full
test:
	@$(MAKE) --no-print-directory --output-sync=target -j$(NPROC) test-prep
	$(if $(filter bochs,$(PLATFORM)),$(BOCHS_HARNESS),$(HARNESS))

# The same with the whole suite in every config and in the LAVA job (--full: +quick= subsets
# and --lab-tests off).
test-full:
	@$(MAKE) --no-print-directory --output-sync=target -j$(NPROC) test-prep
	$(HARNESS) --full

# LAVA (lab/): the QEMU job run by lava-run from Debian's lava-dispatcher, no LAVA server; its
# test cases checked against the serial log. make test does the same when lava-run is there.
LAVA_PYTHON ?= /usr/bin/python3
lab-deps:
	@sh tools/host-deps.sh lab

lab: $(ISO) lab-deps
	$(LAVA_PYTHON) lab/lava/lab.py validate
	$(LAVA_PYTHON) lab/lava/lab.py run --iso $(ISO) --out $(B)/lab

list: $(ELF)
	@$(PYTHON) tools/list-experiments.py

# docs/arch-rules.md: every rule with its verdicts and quotes, from the ELF (make test checks it)
arch-rules: $(ELF)
	$(PYTHON) tools/arch-rules.py $(ELF) > docs/arch-rules.md

# The experiment tables of README.md and tests/*/README.md (between their marker comments) come
# from each experiment's .description and source file; make test fails when they are stale.
.PHONY: docs docs-check new-experiment
docs: $(ELF)
	@$(PYTHON) tools/list-experiments.py --docs $(ELF)
docs-check: $(ELF)
	@$(PYTHON) tools/list-experiments.py --check-docs $(ELF)

# README.md's platform table (between its marker comments): the headline observations of each
# reference log in host/samples/platforms; make test fails when it is stale (no boot: the logs
# are committed).
.PHONY: platforms-table platforms-check
platforms-table:
	@$(PYTHON) tools/platforms-table.py
platforms-check:
	@$(PYTHON) tools/platforms-table.py --check

# tests/FAMILY/NAME.c from the template tests/core/example.c, with the family's next free rank.
new-experiment:
	@$(PYTHON) tools/new-experiment '$(NAME)' '$(FAMILY)'

report:
	tools/racebed-report --html $(B)/report --json $(B)/report/results.json \
		--junit $(B)/report/junit.xml $(wildcard $(B)/test/*.log) || [ $$? -eq 1 ] # 1: some test failed

clean:
	rm -rf $(B)

FORCE:
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Fast edit-boot loop: QEMU's own Multiboot 1 loader boots an ELF32 copy of the kernel (it
# refuses ELF64), with ARGS given at boot: no GRUB, no ISO rebuild, no framebuffer. BIOS only.
.PHONY: run-fast
$(B)/racebed32.elf: $(ELF)
	objcopy -O elf32-i386 $< $@

# Bochs (host/bochs.py): the ISO with Debian's default BIOS and VGA BIOS, headless, SMP CPUs of
# BOCHS_CPU (`bochs --help cpu`), time simulated at BOCHS_IPS instructions a second; the run
# powers off at the end (exit=poweroff is added to ARGS). Serial output on this terminal.
BOCHS_CPU ?= corei7_skylake_x
BOCHS_IPS ?= 20000000
.PHONY: run-bochs
$(B)/bochs/racebed.iso: $(ELF) $(B)/args.txt tools/mkiso.sh iso/grub.cfg.in $(B)/.deps-ok
	@mkdir -p $(dir $@)
	bash tools/mkiso.sh --menu-timeout 0 $(ELF) $@ $(ARGS) exit=poweroff
run-bochs: $(B)/bochs/racebed.iso
	$(PYTHON) host/bochs.py --iso $< --smp $(SMP) --cpu $(BOCHS_CPU) --ips $(BOCHS_IPS) \
		--serial $(B)/bochs/serial.log --log $(B)/bochs/bochs.log

run-fast: $(B)/racebed32.elf
	$(PYTHON) host/qemu.py --kernel $(B)/racebed32.elf --append="$(ARGS)" $(QEMU_OPTS)
