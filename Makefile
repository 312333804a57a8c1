# Thin wrapper over scripts/ (the scripts are the source of truth).
.PHONY: run test build
run:
	scripts/run.sh
test:
	scripts/test.sh
build:
	scripts/build.sh release
