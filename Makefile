# MASH Gateway. `make test` and `make run` work from a fresh clone: they install what is missing.
.PHONY: test bench bench-instructions run demo env deps broker-up broker-down broker-env format lint clean

test:
	scripts/test.sh

bench:
	scripts/bench.sh

bench-instructions:
	scripts/bench-instructions.sh

# The whole hub on this machine, TLS on; Ctrl-C stops it gracefully. `make demo` drives it from another terminal.
run:
	scripts/run.sh

demo:
	scripts/demo.sh

# For mashctl in another terminal: eval "$$(make -s env)"
env:
	@scripts/run.sh env

deps:
	scripts/deps.sh

# A private development node (ports 25671-25674, data in .build/broker), separate from the test node.
broker-up: deps
	scripts/broker.sh up

broker-down:
	scripts/broker.sh down

broker-env:
	@scripts/broker.sh env

format:
	swift format --in-place --recursive Package.swift Sources Tests Benchmarks

lint:
	swift format lint --strict --recursive Package.swift Sources Tests Benchmarks

clean:
	scripts/broker.sh down || true
	rm -rf .build
