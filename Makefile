# topk_pg: the usual targets. See README.md.
.PHONY: demo test install bench bench-sql bench-citus clean-cluster package doctest fuzz

demo:            ## install what is missing, build, start a private cluster, print a dashboard
	scripts/demo.sh

test:            ## every test: core, #[pg_test], SQL scenarios
	scripts/test.sh

install:         ## build (release) and install into PostgreSQL 15
	scripts/setup.sh
	scripts/install.sh --release

bench:           ## criterion benches of the core
	cargo bench -p topk_core

bench-sql:       ## the SQL benchmark against count(*), exact SQL and postgresql-hll (ARGS="--smoke" for a quick run)
	scripts/bench.sh $(ARGS)

bench-citus:     ## the Citus benchmark: bytes shipped to the coordinator, 3-node cluster (ARGS="--smoke" or "--rows N")
	benches/citus/run.sh $(ARGS)

clean-cluster:   ## stop and remove the demo cluster
	scripts/cluster.sh destroy

package:         ## installable artefacts for PostgreSQL 15: target/package/*.tar.gz and *.deb
	scripts/package.sh

doctest:         ## run every SQL example of README.md and docs/
	scripts/install.sh
	scripts/doctest.sh

fuzz:            ## fuzz smoke (20 s per target); scripts/fuzz.sh --long for 10M runs per target
	scripts/fuzz.sh
