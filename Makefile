# videomind — one-command setup, tests and demo run.  See README.md.
PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch 2.13.0 is what we test with; override for CUDA wheels, e.g.
#   make setup TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev,train,demo,decord
BIN := $(VENV)/bin
STAMP := $(VENV)/.videomind-installed
# CI runs the slow-marked checks too; users get the fast suite by default.
PYTEST_ARGS ?= $(if $(filter true 1 yes,$(CI)),-m "slow or not slow",-m "not slow")
EXAMPLE_VIDEO := examples/shapes.mp4
EXAMPLE_QUESTION := What colour is the shape that appears after the blue square leaves?
EXAMPLE_OPTIONS := purple white blue green

.PHONY: setup test ask lint format tiny-model clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

test: setup
	$(BIN)/ruff check videomind tests recipes
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ask: setup
	$(BIN)/videomind ask $(EXAMPLE_VIDEO) "$(EXAMPLE_QUESTION)" --options $(EXAMPLE_OPTIONS)

lint: setup
	$(BIN)/ruff check videomind tests recipes
	$(BIN)/ruff format --check videomind tests recipes

format: setup
	$(BIN)/ruff format videomind tests recipes
	$(BIN)/ruff check --fix videomind tests recipes

# The embedded tiny model: synthetic data, vision warm-up, base, the three roles, combine, embed (about 1 h on 2 CPU
# cores), then the measurement reported in docs/TINY_MODEL.md, and the model card again with the results.
ABLATE_LIMITS := --grounding 200 --mcq 200 --qa 60 --planning 200
tiny-model: setup
	$(BIN)/python -m recipes.tiny_model --work runs/tiny-recipe
	$(BIN)/videomind eval ablate --data-root runs/tiny-recipe/data --out runs/tiny-recipe/ablation $(ABLATE_LIMITS)
	$(BIN)/python -m recipes.tiny_model --work runs/tiny-recipe --stages embed

clean-venv:
	rm -rf $(VENV)
