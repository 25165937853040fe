# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test bench lint

demo:
	scripts/bootstrap
	.venv/bin/scut demo

test:
	scripts/bootstrap
	scripts/ensure-postgres
	scripts/ensure-chromium
	SCUT_TEST_ARTEFACTS="$(CURDIR)/test-artifacts" .venv/bin/python -m pytest -n 2 -q

bench:
	scripts/bootstrap
	.venv/bin/python -m pip install --quiet -e '.[bench]'
	.venv/bin/python bench/ingest_bench.py

lint:
	.venv/bin/python -m pip install --quiet -e '.[dev]'
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy src
