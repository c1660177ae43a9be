# SPDX-License-Identifier: GPL-3.0-or-later
# scripts/setup.sh - what scripts/demo and scripts/check share: install the
# Debian packages that are missing, then configure and build (incrementally
# when already built).  Sourced, not run.
#
#   piperun_setup_packages              install what is missing (as root)
#   piperun_build DIR [CONFIGURE ARGS]  autoreconf once, configure DIR once,
#                                       make in DIR

PIPERUN_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build and test dependencies (Debian 12 package names).
PIPERUN_PACKAGES=(
	gcc make autoconf automake libtool pkg-config
	libpipeline-dev libcjson-dev
	bats bats-assert bats-support
	jq openssl procps util-linux tmux python3 bc locales
	clang libclang-rt-14-dev valgrind
	# tests/schema.bats: a draft 2020-12 JSON Schema validator
	python3-jsonschema
	zsh # tests/completion.bats loads completion/_piperun in zsh
	librsvg2-bin libxml2-utils  # piperun timeline: rsvg-convert renders, xmllint checks (tests/timeline.bats)
)

piperun_log() { printf '==> [%4ds] %s\n' "$SECONDS" "$*" >&2; }

piperun_setup_packages() {
	local missing=() p
	for p in "${PIPERUN_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	piperun_log "installing missing packages: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || {
			echo "piperun: setup: missing packages (${missing[*]}) and not root" >&2
			return 1
		}
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq &&
		"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

piperun_autoreconf() {
	if [ ! -x "$PIPERUN_SRC/configure" ] || [ "$PIPERUN_SRC/configure.ac" -nt "$PIPERUN_SRC/configure" ]; then
		piperun_log "autoreconf"
		(cd "$PIPERUN_SRC" && autoreconf -fi >/dev/null 2>&1) || {
			(cd "$PIPERUN_SRC" && autoreconf -fi)
			return 1
		}
	fi
}

piperun_build() {
	local dir=$1
	shift
	piperun_autoreconf || return 1
	mkdir -p "$dir"
	# reconfigure when the flags asked for differ from the last configure
	local want="$*" stamp="$dir/.piperun-configure-args"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		piperun_log "configure in $dir $want"
		(cd "$dir" && "$PIPERUN_SRC/configure" -q "$@") || return 1
		printf '%s' "$want" > "$stamp"
	fi
	piperun_log "make in $dir"
	make -C "$dir" -s -j"$(nproc)" >/dev/null || make -C "$dir" -j1
}

# The libFuzzer tree (scripts/fuzz): clang, ASan+UBSan, the harnesses.
piperun_build_fuzz() {
	local san="address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	piperun_build "$PIPERUN_SRC/build-fuzz" --enable-fuzz CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,$san" \
		LDFLAGS="-fsanitize=$san" &&
		make -C "$PIPERUN_SRC/build-fuzz" -s fuzz >/dev/null
}
