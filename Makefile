# topk_pg: the usual targets. See README.md.
.PHONY: demo test install bench clean-cluster

demo:            ## install what is missing, build, start a private cluster, print a dashboard
	scripts/demo.sh

test:            ## every test: core, #[pg_test], SQL scenarios
	scripts/test.sh

install:         ## build (release) and install into PostgreSQL 15
	scripts/setup.sh
	scripts/install.sh --release

bench:           ## criterion benches of the core
	cargo bench -p topk_core

clean-cluster:   ## stop and remove the demo cluster
	scripts/cluster.sh destroy
