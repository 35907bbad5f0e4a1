# x86 racebed: build the kernel and its GRUB ISO, boot it in QEMU, run the CI harness.
#   make          build build/racebed.elf and build/racebed.iso
#   make run      boot the ISO in QEMU (serial on this terminal; Ctrl-A X quits)
#   make test     unit tests + boot matrix, checked against tests/expect/$(ACCEL).exp
#   make debug    QEMU waiting for GDB on :1234
# Variables: SMP=8 ACCEL=tcg|kvm UEFI=1 MACHINE=pc|q35 ARGS="kernel command line"

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
	-fno-sanitize-recover=all -I.

# Experiments run in this order (the registry is a linker section, filled in link order).
EXPERIMENTS := tests/exp/boot.c tests/exp/ipi.c tests/exp/exceptions.c tests/exp/timer.c \
	tests/exp/ring3.c tests/exp/ring3_seq.S tests/exp/sti_common.c tests/exp/sti_seq.S \
	tests/exp/sti_wakeup.c tests/exp/sti_nmi.c tests/exp/sti_step.c tests/exp/sti_consec.c \
	tests/exp/sti_latency.c tests/exp/sti_user.c tests/exp/movss_common.c tests/exp/movss_seq.S tests/exp/movss.c \
	tests/exp/movss_shadow.c tests/exp/sweep.c tests/exp/nmi_storm.c tests/exp/db_entry.c \
	tests/exp/nmi_nest.c tests/exp/nmi_nest.S tests/exp/nmi_iret.c tests/exp/exc_seq.S \
	tests/exp/exc_df.c tests/exp/exc_matrix.c \
	tests/exp/poke_seq.S tests/exp/poke_common.c tests/exp/poke_driver.c tests/exp/poke_call_flip.c \
	tests/exp/poke_jmp_nop.c tests/exp/poke_batch.c tests/exp/poke_nmi_patcher.c \
	tests/exp/poke_emulate_modes.c tests/exp/poke_ablate.c tests/exp/poke_sdm_flag.c \
	tests/exp/selftest.c

KSRCS := $(wildcard boot/*.S) $(wildcard arch/x86/*.S) $(wildcard arch/x86/*.c) \
	$(wildcard kernel/*.c) $(wildcard patching/*.c) $(EXPERIMENTS)
KOBJS := $(patsubst %,$(B)/obj/%.o,$(KSRCS)) $(B)/obj/gen/font.c.o

UNIT_PURE := kernel/printf.c kernel/glob.c kernel/cmdline.c kernel/mb2.c kernel/mb1.c kernel/bootinfo.c \
	arch/x86/acpi.c arch/x86/mptable.c
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))

ISO := $(B)/racebed.iso
ELF := $(B)/racebed.elf
QEMU_OPTS = --smp $(SMP) --accel $(ACCEL) --machine $(MACHINE) $(if $(UEFI),--uefi)

.PHONY: all run test debug unit deps clean bench
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

run: $(ISO)
	$(PYTHON) tests/qemu.py --iso $(ISO) $(QEMU_OPTS)

debug: $(ISO)
	$(PYTHON) tests/qemu.py --iso $(ISO) $(QEMU_OPTS) --debug

bench:
	$(MAKE) run ARGS="bench $(ARGS)"

$(B)/unit/%: tests/unit/%.c $(UNIT_PURE) tests/unit/check.h tests/unit/bootinfo_check.h $(B)/gen/font.c kernel/fbcon.c
	@mkdir -p $(dir $@)
	$(CC) $(HOSTCFLAGS) $< $(if $(filter test_fbcon,$*),kernel/fbcon.c $(B)/gen/font.c,$(UNIT_PURE)) -o $@

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

test: $(ELF) $(UNIT_TESTS) $(B)/.deps-ok
	$(PYTHON) tests/harness.py --self-test
	ACCEL=$(ACCEL) $(PYTHON) tests/harness.py --elf $(ELF) --out $(B)/test \
		$(patsubst %,--unit %,$(UNIT_TESTS))

clean:
	rm -rf $(B)

FORCE:
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Fast edit-boot loop: QEMU's own Multiboot 1 loader boots an ELF32 copy of the kernel (it
# refuses ELF64), with ARGS given at boot: no GRUB, no ISO rebuild, no framebuffer. BIOS only.
.PHONY: run-fast
$(B)/racebed32.elf: $(ELF)
	objcopy -O elf32-i386 $< $@

run-fast: $(B)/racebed32.elf
	$(PYTHON) tests/qemu.py --kernel $(B)/racebed32.elf --append="$(ARGS)" $(QEMU_OPTS)
