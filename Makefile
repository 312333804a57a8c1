# Thin wrapper over scripts/ (the scripts are the source of truth).
.PHONY: run test build bench
run:
	scripts/run.sh
test:
	scripts/test.sh
build:
	scripts/build.sh release
bench:
	bench/run.sh
