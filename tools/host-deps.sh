#!/bin/sh
# Checks the host tools the build and the QEMU runs need; installs the missing Debian packages
# with apt-get when running as root, otherwise prints the exact install line and fails.
#   host-deps.sh        what make and make test need (lava-common: LAVA's job schema)
#   host-deps.sh lab    also lava-dispatcher (lava-run, for make lab); heavy: it pulls in
#                       libguestfs and systemd
set -u

missing=""
need() { # need PACKAGE PATH-OR-COMMAND
	case "$2" in
	/*) [ -e "$2" ] || missing="$missing $1" ;;
	*) command -v "$2" >/dev/null 2>&1 || missing="$missing $1" ;;
	esac
}

need gcc gcc
need make make
need python3 python3
need binutils ld
need qemu-system-x86 qemu-system-x86_64
need grub-common grub-mkrescue
need grub-pc-bin /usr/lib/grub/i386-pc/multiboot2.mod
need grub-efi-amd64-bin /usr/lib/grub/x86_64-efi/multiboot2.mod
need xorriso xorriso
need mtools mformat
need ovmf /usr/share/OVMF/OVMF_CODE_4M.fd
need console-setup-linux /usr/share/consolefonts/Lat15-Terminus16.psf.gz
# make test: Linux's own KTAP parser (tools/testing/kunit, unpacked into build/);
# tools/racebed-report: plots; checking its HTML in a real browser (headless)
need linux-source-6.1 /usr/src/linux-source-6.1.tar.xz
# make test's Bochs config (host/bochs.py): Bochs with its default BIOS and VGA BIOS; bochs
# depends on one GUI plugin package, bochs-term is the small one (the run uses the rfb display,
# built into bochs)
need bochs /usr/bin/bochs-bin
need bochsbios /usr/share/bochs/BIOS-bochs-latest
need vgabios /usr/share/vgabios/vgabios.bin
need bochs-term /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so
need python3-matplotlib /usr/lib/python3/dist-packages/matplotlib/__init__.py
need chromium chromium
# make test: the results screen's QR codes decoded from the screendump
need zbar-tools zbarimg
need lava-common /usr/lib/python3/dist-packages/lava_common/schemas/__init__.py
# make test: the type check of the Python (mypy.ini)
need mypy mypy
# make format-check: the lines a change touches against .clang-format
need clang-format git-clang-format
[ "${1:-}" = lab ] && need lava-dispatcher lava-run

[ -z "$missing" ] && exit 0
pkgs=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
line="apt-get install -y --no-install-recommends $pkgs"
if [ "$(id -u)" != 0 ]; then
	echo "racebed: missing host tools. Install them with:" >&2
	echo "  sudo $line" >&2
	exit 1
fi
echo "racebed: installing missing host packages: $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $pkgs >/dev/null || {
	echo "racebed: '$line' failed" >&2
	exit 1
}
