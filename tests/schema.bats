#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-3.0-or-later
# schema.bats - the JSON Schema of the spec (data/piperun-spec.schema.json,
# `piperun schema`) and the parser kept in step, with a real validator
# (python3-jsonschema, draft 2020-12): every spec validate accepts the
# schema accepts, and one unknown key, wrong type or bad value each is
# rejected by both (tests/helpers/schema-check.py says how).
load helper

SRC="$TESTS_DIR/.."
SCHEMA="$SRC/data/piperun-spec.schema.json"
CORPUS="$TESTS_DIR/data/schema-corpus"

setup() {
	# Debian's python3-jsonschema (scripts/setup.sh installs it) is for
	# the system's python3; another python3 first on PATH may lack it
	PY=
	for p in /usr/bin/python3 python3; do
		if "$p" -c 'from jsonschema import Draft202012Validator' 2>/dev/null; then
			PY=$p
			break
		fi
	done
	[ -n "$PY" ] || fail "python3-jsonschema (draft 2020-12) is needed: apt-get install python3-jsonschema"
}

check() {
	run "$PY" "$TESTS_DIR/helpers/schema-check.py" --piperun "$PIPERUN" --schema "$SCHEMA" "$@"
	printf '%s\n' "$output"
	assert_success
}

@test "piperun schema prints data/piperun-spec.schema.json, byte for byte" {
	pr schema
	assert_success
	[ -z "$stderr" ]
	printf '%s\n' "$output" | cmp - "$SCHEMA"
	pr help schema
	assert_success
	assert_output --partial "draft 2020-12"
	pr schema extra
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unexpected argument 'extra'"* ]]
}

@test "the schema is a valid draft 2020-12 schema" {
	check meta
	"$PIPERUN" schema | "$PY" -c 'import json, sys; s = json.load(sys.stdin); assert s["$schema"].endswith("/draft/2020-12/schema")'
}

@test "a top-level \"\$schema\" string is accepted and ignored; anything else is an error" {
	f=$(spec <<-'EOF'
	{"$schema": "../data/piperun-spec.schema.json", "jobs": [{"name": "a", "run": ["echo", "hi"]}]}
	EOF
	)
	g=$(spec plain.json <<-'EOF'
	{"jobs": [{"name": "a", "run": ["echo", "hi"]}]}
	EOF
	)
	pr validate "$f"
	assert_success
	[ -z "$stderr" ]
	# nothing of it reaches the plan
	diff <("$PIPERUN" plan "$f" | grep -v '"file"') <("$PIPERUN" plan "$g" | grep -v '"file"')
	f=$(spec bad.json <<-'EOF'
	{"$schema": 1, "jobs": [{"run": ["true"]}]}
	EOF
	)
	pr validate "$f"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'["$schema"]: expected a string, got 1'* ]]
}

@test "pipelines and examples: validate and the schema accept every spec" {
	shopt -s nullglob globstar
	check valid "$PIPELINES"/*.json "$SRC"/examples/**/*.json
}

@test "the corpus: validate and the schema accept every spec of it" {
	check valid "$CORPUS"/*.json
}

@test "the corpus: it uses every key of the schema, and the schema has every key of the parser" {
	check keys --src "$SRC/src" "$CORPUS"/*.json
}

@test "the corpus of bad specs: validate and the schema reject every one" {
	check invalid "$CORPUS"/bad/*.json
}

@test "what only validate checks (names, references, cycles, placeholders): the schema lets it by" {
	check beyond "$CORPUS"/beyond/*.json
}

@test "the specs the suites write: validate and the schema agree on every one" {
	check suites --work "$BATS_TEST_TMPDIR/suites" "$TESTS_DIR"/*.bats "$SRC"/examples/bats/*.bats
	assert_output --regexp '[0-9]+ specs from the suites: [0-9]+ valid'
}

@test "one unknown key, removed member, wrong type or bad value each: validate and the schema agree" {
	check mutate --work "$BATS_TEST_TMPDIR/mutations" "$CORPUS"/*.json
	assert_output --regexp ' 0 disagreements$'
}

@test "2,000 specs with random changes, 1 to 3 each (fixed seed): validate and the schema agree" {
	check random --work "$BATS_TEST_TMPDIR/random" --count 2000 --seed 19 "$CORPUS"/*.json
	assert_output --regexp ' 0 disagreements$'
}

@test "\"pass_fds\": [] copied to every job validates (each copy its own array)" {
	f=$(spec <<-'EOF'
	{"defaults": {"pass_fds": []}, "jobs": [{"run": ["true"]}, {"run": ["true"], "repeat": 3}]}
	EOF
	)
	pr validate "$f"
	assert_success
	pr run -o none "$f"
	assert_success
}
