# herald — shortcuts for the scripts in scripts/ (which need nothing but Python and bash).
.PHONY: demo test install lint typecheck check clean

demo:
	scripts/demo

test:
	scripts/test

install:
	scripts/bootstrap dev

lint: install
	.venv/bin/ruff format --check worker tests bench
	.venv/bin/ruff check worker tests bench

typecheck: install
	.venv/bin/mypy

check: lint typecheck test

clean:
	rm -rf .venv herald-demo .pytest_cache .mypy_cache .ruff_cache
