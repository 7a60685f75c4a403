# The whole project: build every daemon, run the local stack, test, lint.
# Each folder also builds alone (`make -C services/auth`); this file only
# orders them and passes one absolute BUILD folder down.
#
#   make            build libs, the gateway and every service into $(BUILD)/bin
#   make run        install missing packages, build (the web console too), run the local stack (Ctrl-C stops it)
#   make web        build the web console into web/dist when its sources changed (docs/web.md)
#   make stop       stop a stack left running under var/
#   make test       everything CI runs (tests/run.sh)
#   make lint       clang-format and cppcheck on the C, ESLint and Prettier on web/
#   make images     the daemons' container images, helpdesk/NAME:$(VERSION) (needs Docker)
#   make daemons    regenerate the files derived from daemons.def (tools/daemons.sh)
#   make new-daemon NAME=foo   a new daemon services/foo on the list (docs/adding-a-daemon.md)
#   make bench      wrk benchmark of a private stack -> docs/benchmarks.md (tests/load/bench.sh)
#   make bench-scale  lists/filters/searches with 2,000,000 tickets -> docs/benchmarks.md
#   make bench-webhooks  webhook deliveries/s to a local receiver -> docs/benchmarks.md
#   make bench-attachments  peak RSS of a 20 MiB upload and download (tests/load/bench-attachments.sh)
#   make bench-analytics  hd-analytics with 1,000,000 events (tests/load/bench-analytics.sh)
#   make bench-search  knowledge search over 100,000 articles (tests/load/bench-search.sh)
#   make eval-triage  accuracy and macro-F1 of auto-triage on a generated corpus (docs/benchmarks.md)
#   make SANITIZE=address,undefined   the same build with sanitizers, in build-san/
ROOT     := .
SANITIZE ?=
BUILD    ?= build$(if $(SANITIZE),-san,)
ABSBUILD := $(abspath $(BUILD))
SUBMAKE   = $(MAKE) BUILD=$(ABSBUILD) SANITIZE=$(SANITIZE)

# Container images (deploy/docker/Dockerfile, one target per daemon), tagged
# with the git version, by deploy/images.sh with Docker or podman; skipped with
# a note when no container engine answers.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Daemons: the folders of the lines of daemons.def (gateway, services/<name>).
DAEMONS  := $(shell tools/daemons.sh dirs)
ifeq ($(DAEMONS),)
$(error daemons.def could not be read: run tools/daemons.sh dirs)
endif
# Every C source and header we own (for fmt and lint).
C_FILES   = $(shell find libs gateway services proto tests -type f \( -name '*.c' -o -name '*.h' \) \
	      -not -path '*/node_modules/*' 2>/dev/null | sort)
# cppcheck: real findings fail the build. Suppressed: system headers it is
# not given, varFuncNullUB (our NULL-terminated varargs, as execl and
# hd_daemon_reply_json, are fine with glibc's NULL), and timercmp, a BSD
# macro it cannot parse without <sys/time.h>, is defined for it.
CPPCHECK := cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr -j2 \
	--enable=warning,portability,performance \
	--suppress=missingIncludeSystem --suppress=missingInclude --suppress=unmatchedSuppression \
	--suppress=varFuncNullUB \
	'-Dtimercmp(a,b,CMP)=(((a)->tv_sec == (b)->tv_sec) ? ((a)->tv_usec CMP (b)->tv_usec) : ((a)->tv_sec CMP (b)->tv_sec))' \
	-D__GNUC__ -D_GNU_SOURCE -Ilibs/include -Iproto -Itests/lib

all: $(DAEMONS)

libs:
	+$(SUBMAKE) -C libs

$(DAEMONS): libs
	+$(SUBMAKE) -C $@

# local.sh is exec'ed, so that Ctrl-C ends with its one line saying what
# stopped (a shell in between would die of the signal and make would add
# "*** Interrupt").
run:
	deploy/stack.sh deps
	$(MAKE) all
	@tools/web-build.sh || echo "make run: the web console was not built (see above): the API runs without it, / is 404"
	@HD_BIN_DIR=$(ABSBUILD)/bin exec deploy/local.sh run

stop:
	@deploy/local.sh stop

test:
	deploy/stack.sh deps test
	tests/run.sh

web:
	tools/web-build.sh

clean:
	rm -rf build build-san $(ABSBUILD)

fmt:
	clang-format -i $(C_FILES)

# Every check runs, so one report shows everything; `make fmt` fixes the first.
lint:
	@rc=0; \
	clang-format --dry-run --Werror $(C_FILES) || { rc=1; echo "lint: clang-format: run make fmt"; }; \
	$(CPPCHECK) $(filter %.c,$(C_FILES)) || { rc=1; echo "lint: cppcheck found problems"; }; \
	if command -v npm >/dev/null; then \
		( cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } \
		  && npx --no-install eslint --max-warnings 0 . && npx --no-install prettier --check --log-level warn . ) \
		|| { rc=1; echo "lint: web: eslint or prettier (cd web && npx prettier --write .)"; }; \
	else echo "lint: npm not found: the web console's ESLint and Prettier skipped"; fi; \
	exit $$rc

tools/node_modules/.package-lock.json: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error

openapi-lint: tools/node_modules/.package-lock.json
	cd tools && npx --no-install redocly lint ../docs/openapi.yaml --config ../docs/redocly.yaml

docs-config:
	tools/config-table.sh libs/include/hd/config.def README.md

# k8s/helpdesk/README.md from the chart's values.yaml (tests/deploy/check.sh checks it).
chart-readme:
	node tests/deploy/chart-readme.mjs

images:
	@if [ "$$(deploy/images.sh engine)" = none ]; then \
		echo "make images: skipped (no container engine: neither docker info nor podman info answers)"; \
	else deploy/images.sh build $(VERSION); fi

# The files derived from daemons.def (settings, gateway service table, compose,
# Dockerfile, the chart's daemon list, the README table); CI checks them.
daemons:
	tools/daemons.sh gen

# A new daemon from the skeleton in tools/new-daemon/, on the list, generated files updated.
new-daemon:
	@[ -n "$(NAME)" ] || { echo "usage: make new-daemon NAME=foo"; exit 2; }
	tools/new-daemon.sh $(NAME)

.PHONY: all libs $(DAEMONS) run stop test web clean fmt lint openapi-lint docs-config chart-readme images daemons new-daemon

# A benchmark, not a test: a private stack on free ports (fsync on), 10,000
# seeded tickets, wrk on the ticket routes, a mix, and the field service's
# nearby search and dispatch (10,000 technicians, 50,000 work orders);
# HD_BENCH_PEER=node adds the Node peer.
bench:
	deploy/stack.sh deps
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench.sh

# Lists, filters and searches at scale: a private stack, 1,000,000 tickets in
# one tenant and 10 tenants of 100,000, wrk on the list mix and on creates
# (tests/load/bench-scale.sh, docs/benchmarks.md "At scale"). Takes minutes.
bench-scale:
	deploy/stack.sh deps
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench-scale.sh

# Webhook fan-out of hd-notification to a local receiver (tests/load/bench-webhooks.sh,
# docs/benchmarks.md "Webhook fan-out").
bench-webhooks:
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench-webhooks.sh


# One 20 MiB attachment up and down five times: peak RSS of hd-gateway and
# hd-ticket (tests/load/bench-attachments.sh, docs/benchmarks.md "Attachments").
bench-attachments:
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench-attachments.sh

# GET /v1/stream: 10,000 idle streams, the gateway's RSS and the delivery
# delay of ticket events to all of them (tests/load/bench-sse.sh).
bench-sse:
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench-sse.sh

# Knowledge search over 100,000 articles: two-word queries (common, middling,
# rare), the typo fallback and a mix (tests/load/bench-search.sh,
# docs/benchmarks.md "Knowledge search").
bench-search:
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench-search.sh

# hd-analytics with 1,000,000 events: apply rate, summary and timeseries
# latency (tests/load/bench-analytics.sh, docs/benchmarks.md "Analytics").
bench-analytics:
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/bench-analytics.sh

# The auto-triage classifier against the similar-tickets method and the
# majority class on a generated labelled corpus (tests/load/eval-triage.sh,
# docs/benchmarks.md "Auto-triage evaluation"). An evaluation, not a test.
eval-triage:
	$(MAKE) all
	HD_BIN_DIR=$(ABSBUILD)/bin tests/load/eval-triage.sh

.PHONY: bench bench-scale bench-webhooks bench-attachments bench-sse bench-analytics bench-search eval-triage
