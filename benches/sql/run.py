#!/usr/bin/env python3
"""topk_pg SQL benchmark driver.

Run it through scripts/bench.sh, which installs what is needed, builds topk_pg, starts
the private benchmark cluster with the reference settings and exports PGHOST, PGPORT,
PGUSER and PGDATABASE for it. This script then, for each Zipf skew:

  1. generates the sales events with ../shared/data/gen_events.py (cached in
     /tmp/topk_pg_bench_data by its arguments), COPYs them into `events`, VACUUM ANALYZE;
  2. runs every query once as a warm-up, then --reps times round-robin, and reports the
     median, min and max wall time (client side, over a Unix socket, result fetched)
     and the ratio of the median to the median of count(*) from the same run;
  3. measures accuracy against the exact answer and the stored sketch sizes;
  4. measures the pipeline when topk.create_pipeline exists, on a table with a primary
     key and an index on event_time: COPY of 1M events with and without a pipeline
     (distinct column on), single-row autocommit INSERTs with and without, CALL topk.run
     over the new events, the pipeline's storage against the source's, run_batch for a
     day, and pgbench on top_1000; each against its goal (issue 16), never asserted.

Functions that are not (yet) in the installed extension give "n/a (not installed)".
Prints Markdown tables, writes JSON to --out and the Markdown next to it (.md).
Exit status: 0 when every query ran, 1 if any SQL error happened, 2 on bad usage or a
missing generator. Slowness never fails.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import psycopg
    from psycopg import sql as pgsql
except ImportError:  # pragma: no cover
    sys.exit("run.py: needs psycopg 3 (Debian: python3-psycopg; PyPI: psycopg[binary]); use scripts/bench.sh")

REPO = Path(__file__).resolve().parents[2]
DEFAULT_GEN = REPO.parent / "shared" / "data" / "gen_events.py"
DATA_DIR = Path(os.environ.get("TOPK_BENCH_DATA", "/tmp/topk_pg_bench_data"))
SEED = 42
DAYS = 30
PIPELINE_EVENTS = 1_000_000  # "topk.run over 1M new events"
INSERTS = 2_000  # single-row autocommit INSERTs (--smoke: 500)
# The pipeline goals of issue 16 (printed beside the figures, never asserted).
PIPELINE_GOALS = {
    "copy_ratio": 1.15,     # COPY into the table with a pipeline / without, same table
    "insert_ratio": 1.10,   # single-row autocommit INSERTs, with / without
    "run_s": 3.0,           # CALL topk.run over the 1M new events, seconds
    "storage_ratio": 0.5,   # the pipeline's schema / the source table, pg_total_relation_size
}
# The capacity whose daily sketch stores at most 9 KB (TopN's size) on the reference data
# (spacesaving format 2; core/src/spacesaving/size_tests.rs), in place of the 2,000
# counters of earlier runs.
CAP_9KB = 3000
# Text items: Zipf(s=1) over WORDS pseudo-words, generated in SQL (see text_items()).
WORDS = 200_000
# The day of an event. date_bin is plain arithmetic on timestamptz (no time-zone lookups):
# the same days as date_trunc('day', event_time) in UTC, at a fraction of its cost, so the
# per-day figures measure the sketches rather than the date function.
DAY = "date_bin('1 day', event_time, timestamptz '2024-01-01 00:00+00')"

# Reference figures of ../shared/data/README.md (ratios to count(*), 10M rows, 2 cores).
SKEWS = {
    "1.1": {"name": "main", "tag": "s11"},
    "0.8": {"name": "flat", "tag": "s08"},
}
# The reference data set's known facts (10M rows, 1M items, 30 days, seed 42).
REFERENCE_FACTS = {
    "1.1": {"distinct_products": 562166, "distinct_users": 1986653, "count_100": 7688, "count_101": 7684},
    "0.8": {"distinct_products": 962159, "count_100": 3370, "count_101": 3339},
}


def fig(key, label, sql, needs=(), goal=None, peers=(), section="one pass", result=None, inputs=None):
    """A timed query; `peers` are the keys of the peers' figures for the same task, shown
    beside it with their ratios of this run; `inputs`: the number of rows an aggregate
    reads, to print the time per input too."""
    return dict(key=key, label=label, sql=sql, needs=list(needs), goal=goal or {}, peers=list(peers),
                section=section, result=result, inputs=inputs)


# The peers' names in the tables.
PEER_NAMES = {"citus_hll11": "Citus hll log2m 11", "citus_hll14": "Citus hll log2m 14", "ds_hll": "DataSketches",
              "topn_agg": "TopN", "ds_fi_agg": "DataSketches", "topn_agg_day": "TopN", "ds_fi_agg_day": "DataSketches",
              "topn_merge": "TopN", "ds_fi_merge": "DataSketches", "ds_hll_merge": "DataSketches"}


FIGURES = [
    fig("count", "`count(*)` (the floor)", "SELECT count(*) FROM events",
        goal={"1.1": "1.00", "0.8": "1.00"}),
    fig("sum", "`sum(product_id)`", "SELECT sum(product_id) FROM events"),
    fig("exact_top100", "exact top-100 (`GROUP BY … ORDER BY count DESC LIMIT 100`)",
        "SELECT product_id, count(*) AS c FROM events GROUP BY product_id ORDER BY c DESC LIMIT 100"),
    fig("exact_distinct", "exact `count(DISTINCT user_id)`", "SELECT count(DISTINCT user_id) FROM events"),
    fig("hll_agg", "`hll_agg(user_id)` → `hll_count`",
        "SELECT hll_count(s), pg_column_size(s) FROM (SELECT hll_agg(user_id) AS s FROM events) t",
        needs=["hll_agg", "hll_count"], goal={"1.1": "≤ 1.3", "0.8": "≤ 1.3"},
        peers=["citus_hll11", "citus_hll14", "ds_hll"]),
    fig("citus_hll11", "Citus `hll_add_agg(hll_hash_bigint(user_id))`, log2m 11",
        "SELECT citus.hll_cardinality(s), pg_column_size(s) FROM "
        "(SELECT citus.hll_add_agg(citus.hll_hash_bigint(user_id), 11) AS s FROM events) t",
        needs=["citus.hll_add_agg"]),
    fig("citus_hll14", "Citus `hll_add_agg(hll_hash_bigint(user_id), 14)`",
        "SELECT citus.hll_cardinality(s), pg_column_size(s) FROM "
        "(SELECT citus.hll_add_agg(citus.hll_hash_bigint(user_id), 14) AS s FROM events) t",
        needs=["citus.hll_add_agg"]),
    fig("ds_hll", "DataSketches `hll_sketch_build(user_id, 14)`",
        "SELECT ds.hll_sketch_get_estimate(s), pg_column_size(s) FROM (SELECT ds.hll_sketch_build(user_id, 14) AS s FROM events) t",
        needs=["ds.hll_sketch_build"]),
    fig("cms_agg", "`cms_agg(product_id)`",
        "SELECT pg_column_size(s) FROM (SELECT cms_agg(product_id) AS s FROM events) t",
        needs=["cms_agg"], goal={"1.1": "≤ 1.5", "0.8": "≤ 1.5"}),
    fig("topk_agg", "`topk_agg(product_id)`",
        "SELECT pg_column_size(s) FROM (SELECT topk_agg(product_id) AS s FROM events) t",
        needs=["topk_agg"], goal={"1.1": "≤ 1.8", "0.8": "≤ 2.2"}, peers=["topn_agg", "ds_fi_agg"]),
    fig("topk_agg_text", "`topk_agg(product_id::text)` (text items, as the peers take them)",
        "SELECT pg_column_size(s) FROM (SELECT topk_agg(product_id::text) AS s FROM events) t",
        needs=["topk_agg"], goal={"1.1": "≤ 2.5", "0.8": "≤ 3.0"}, peers=["topn_agg", "ds_fi_agg"]),
    fig("topk_agg_text_9kb", f"`topk_agg(product_id::text, {CAP_9KB})` (text items at ≤ 9 KB stored, the peers' size)",
        f"SELECT pg_column_size(s) FROM (SELECT topk_agg(product_id::text, {CAP_9KB}) AS s FROM events) t",
        needs=["topk_agg"], peers=["topn_agg", "ds_fi_agg"]),
    fig("topn_agg", "TopN `topn_add_agg(product_id::text)` (1,000 counters)",
        "SELECT pg_column_size(s) FROM (SELECT topn.topn_add_agg(product_id::text) AS s FROM events) t",
        needs=["topn.topn_add_agg"]),
    fig("ds_fi_agg", "DataSketches `frequent_strings_sketch_build(11, product_id::varchar)`",
        "SELECT pg_column_size(s) FROM (SELECT ds.frequent_strings_sketch_build(11, product_id::varchar) AS s FROM events) t",
        needs=["ds.frequent_strings_sketch_build"]),
    fig("heavy_hitters_agg", "`heavy_hitters_agg(product_id)`",
        "SELECT pg_column_size(s) FROM (SELECT heavy_hitters_agg(product_id) AS s FROM events) t",
        needs=["heavy_hitters_agg"]),
    # Per day (GROUP BY day): 30 groups.
    fig("count_day", "`count(*)` per day (floor of the per-day rows)",
        f"SELECT {DAY} AS d, count(*) FROM events GROUP BY 1", section="per day"),
    fig("exact_top10_day", "exact top-10 per day (30 days)",
        f"SELECT d, product_id, c FROM (SELECT d, product_id, c, row_number() OVER (PARTITION BY d ORDER BY c DESC) AS rn "
        f"FROM (SELECT {DAY} AS d, product_id, count(*) AS c FROM events GROUP BY 1, 2) a) b WHERE rn <= 10", section="per day"),
    fig("hll_agg_day", "`hll_agg(user_id)` per day",
        f"SELECT d, hll_count(s) FROM (SELECT {DAY} AS d, hll_agg(user_id) AS s FROM events GROUP BY 1) t",
        needs=["hll_agg", "hll_count"], section="per day"),
    fig("cms_agg_day", "`cms_agg(product_id)` per day",
        f"SELECT d, pg_column_size(s) FROM (SELECT {DAY} AS d, cms_agg(product_id) AS s FROM events GROUP BY 1) t",
        needs=["cms_agg"], section="per day"),
    fig("topk_agg_day", "`topk_agg(product_id)` per day",
        f"SELECT d, pg_column_size(s) FROM (SELECT {DAY} AS d, topk_agg(product_id) AS s FROM events GROUP BY 1) t",
        needs=["topk_agg"], goal={"1.1": "≤ 4", "0.8": "≤ 5"}, section="per day", peers=["topn_agg_day", "ds_fi_agg_day"]),
    fig("topn_agg_day", "TopN `topn_add_agg(product_id::text)` per day",
        f"SELECT d, pg_column_size(s) FROM (SELECT {DAY} AS d, topn.topn_add_agg(product_id::text) AS s FROM events GROUP BY 1) t",
        needs=["topn.topn_add_agg"], section="per day"),
    fig("ds_fi_agg_day", "DataSketches `frequent_strings_sketch_build(11, …)` per day",
        f"SELECT d, pg_column_size(s) FROM (SELECT {DAY} AS d, ds.frequent_strings_sketch_build(11, product_id::varchar) AS s "
        "FROM events GROUP BY 1) t",
        needs=["ds.frequent_strings_sketch_build"], section="per day"),
    fig("heavy_hitters_agg_day", "`heavy_hitters_agg(product_id)` per day",
        f"SELECT d, pg_column_size(s) FROM (SELECT {DAY} AS d, heavy_hitters_agg(product_id) AS s FROM events GROUP BY 1) t",
        needs=["heavy_hitters_agg"], section="per day"),
    # Merging the 30 daily sketches (built once, untimed, into bench_daily).
    fig("topk_merge", "merge 30 daily `topk_agg` → top 100",
        "SELECT rank, item, count FROM {topk_items}((SELECT topk_merge_agg(topk) FROM bench_daily), 100{topk_hint})",
        needs=["topk_agg", "topk_merge_agg", "topk_items"], section="merge 30 daily sketches",
        goal={"1.1": "≤ 4 ms", "0.8": "≤ 4 ms"}, peers=["topn_merge", "ds_fi_merge"]),
    fig("topk9kb_merge", f"merge 30 daily `topk_agg(product_id, {CAP_9KB})` → top 100 (9 KB a day, the peers' sketch size)",
        "SELECT rank, item, count FROM {topk_items}((SELECT topk_merge_agg(topk9kb) FROM bench_daily), 100{topk_hint})",
        needs=["topk_agg", "topk_merge_agg", "topk_items"], section="merge 30 daily sketches",
        goal={"1.1": "≤ 4 ms", "0.8": "≤ 4 ms"}, peers=["topn_merge", "ds_fi_merge"]),
    fig("topn_merge", "TopN: merge 30 daily `topn_add_agg` → top 100",
        "SELECT * FROM topn.topn((SELECT topn.topn_union_agg(topn) FROM bench_daily), 100)",
        needs=["topn.topn_add_agg"], section="merge 30 daily sketches"),
    fig("ds_fi_merge", "DataSketches: merge 30 daily `frequent_strings_sketch_build(11, …)` → top 100",
        "SELECT str, estimate FROM ds.frequent_strings_sketch_result_no_false_negatives("
        "(SELECT ds.frequent_strings_sketch_merge(11, dsfi) FROM bench_daily)) ORDER BY estimate DESC LIMIT 100",
        needs=["ds.frequent_strings_sketch_build"], section="merge 30 daily sketches"),
    fig("heavy_hitters_merge", "merge 30 daily `heavy_hitters_agg` → top 100",
        "SELECT rank, item, count FROM {hh_items}((SELECT heavy_hitters_merge_agg(hh) FROM bench_daily), 100{hh_hint})",
        needs=["heavy_hitters_agg", "heavy_hitters_merge_agg", "heavy_hitters_items"], section="merge 30 daily sketches"),
    fig("hll_merge", "merge 30 daily `hll_agg` → `hll_count`",
        "SELECT hll_count(hll_merge_agg(hll)) FROM bench_daily",
        needs=["hll_agg", "hll_merge_agg", "hll_count"], section="merge 30 daily sketches", peers=["ds_hll_merge"]),
    fig("ds_hll_merge", "DataSketches: merge 30 daily `hll_sketch_build(user_id, 14)` → estimate",
        "SELECT ds.hll_sketch_get_estimate(ds.hll_sketch_union(dshll, 14)) FROM bench_daily",
        needs=["ds.hll_sketch_build"], section="merge 30 daily sketches"),
    fig("cms_merge", "merge 30 daily `cms_agg` → size",
        "SELECT pg_column_size(cms_merge_agg(cms)) FROM bench_daily",
        needs=["cms_agg", "cms_merge_agg"], section="merge 30 daily sketches"),
    # heavy_hitters_merge_agg over 30, 120 and 480 stored sketches (the 30 daily ones
    # repeated): it merges in place into its state, so the time per input sketch should stay
    # about the same as N grows (it used to copy the state's candidate table per input).
    *[fig(f"hh_merge_{n}", f"`heavy_hitters_merge_agg` over {n} stored sketches",
          f"SELECT heavy_hitters_total(heavy_hitters_merge_agg(hh)) FROM bench_daily, generate_series(1, {n // 30})",
          needs=["heavy_hitters_agg", "heavy_hitters_merge_agg", "heavy_hitters_total"],
          section="merge N sketches (time per input)", inputs=n) for n in (30, 120, 480)],
    # One stored sketch against 100k values in a join: decoded once per query, not per row.
    fig("cms_estimates", "100k `cms_estimate` against the one-pass sketch (a join)",
        "SELECT sum(cms_estimate(o.cms, g::bigint)) FROM bench_onepass o, generate_series(1, 100000) g",
        needs=["cms_agg"], section="estimates in a join"),
    fig("topk_estimates", "100k `topk_estimate` against the one-pass sketch (a join)",
        "SELECT sum(topk_estimate(o.topk, g::bigint)) FROM bench_onepass o, generate_series(1, 100000) g",
        needs=["topk_agg"], section="estimates in a join"),
    fig("hh_estimates", "100k `heavy_hitters_estimate` against the one-pass sketch (a join)",
        "SELECT sum(heavy_hitters_estimate(o.hh, g::bigint)) FROM bench_onepass o, generate_series(1, 100000) g",
        needs=["heavy_hitters_agg"], section="estimates in a join"),
]

# Sketches built once (untimed) for accuracy, sizes and the merge figures.
SKETCH_COLUMNS = [
    ("hll", "hll_agg(user_id)", ["hll_agg"]),
    ("cms", "cms_agg(product_id)", ["cms_agg"]),
    ("topk", "topk_agg(product_id)", ["topk_agg"]),
    # The size of the peers' sketches (TopN 1,000 counters, DataSketches lg_k=11: 1,536):
    # at most 9 KB a day.
    ("topk9kb", f"topk_agg(product_id, {CAP_9KB})", ["topk_agg"]),
    ("hh", "heavy_hitters_agg(product_id)", ["heavy_hitters_agg"]),
    # The peers, at their usual sizes.
    ("topn", "topn.topn_add_agg(product_id::text)", ["topn.topn_add_agg"]),
    ("dsfi", "ds.frequent_strings_sketch_build(11, product_id::varchar)", ["ds.frequent_strings_sketch_build"]),
    ("dshll", "ds.hll_sketch_build(user_id, 14)", ["ds.hll_sketch_build"]),
]


class Bench:
    def __init__(self, args):
        self.args = args
        self.errors = []
        self.conn = None
        self.procs = {}

    # ---------- connection and SQL helpers ----------
    def connect(self, dbname=None):
        kw = {"autocommit": True, "prepare_threshold": None}
        if dbname:
            kw["dbname"] = dbname
        return psycopg.connect(**kw)

    def q(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def q1(self, sql, params=None):
        rows = self.q(sql, params)
        return rows[0][0] if rows else None

    def error(self, where, exc):
        msg = f"{where}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
        print(f"ERROR {msg}", file=sys.stderr, flush=True)
        self.errors.append(msg)
        if self.conn is None or self.conn.closed or self.conn.broken:
            # The server may have crashed; try to reconnect once (it restarts after recovery).
            for _ in range(30):
                try:
                    self.conn = self.connect()
                    return
                except psycopg.OperationalError:
                    time.sleep(1)
            raise SystemExit(f"run.py: lost the connection to the server after: {msg}")

    def timed(self, sql):
        t0 = time.perf_counter()
        with self.conn.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else None
        return time.perf_counter() - t0, rows

    # ---------- setup ----------
    def setup_database(self):
        db = os.environ.get("PGDATABASE", "topk_bench")
        with self.connect("postgres") as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{db}"')
        self.conn = self.connect(db)
        self.q("CREATE EXTENSION topk_pg")
        self.citus = bool(self.q1("SELECT count(*) FROM pg_available_extensions WHERE name = 'hll'"))
        if self.citus:
            # Citus' hll has a type `hll` too: keep it in a schema of its own.
            self.q("CREATE SCHEMA citus")
            self.q("CREATE EXTENSION hll SCHEMA citus")
        # The peers built from ../shared/vendor (scripts/peers.sh), each in a schema of its own.
        self.peers = []
        for ext, schema in (("topn", "topn"), ("datasketches", "ds")):
            if self.q1("SELECT count(*) FROM pg_available_extensions WHERE name = %s", (ext,)):
                self.q(f"CREATE SCHEMA {schema}")
                self.q(f"CREATE EXTENSION {ext} SCHEMA {schema}")
                self.peers.append(ext)
        extra = os.environ.get("TOPK_BENCH_SETUP_SQL")
        if extra:  # testing hook for the driver itself: extra SQL run before the functions are detected
            self.q(Path(extra).read_text())
        rows = self.q("""
            SELECT n.nspname, p.proname, p.pronargs, p.prokind
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('public', 'topk', 'citus', 'topn', 'ds')""")
        for nsp, name, nargs, kind in rows:
            full = name if nsp == "public" else f"{nsp}.{name}"
            self.procs.setdefault(full, []).append((nargs, kind))
        # topk_items(sketch, n) is the typed bigint form; topk_items(sketch, n, type_hint) the generic one.
        self.fmt = {}
        for short, fn in (("topk", "topk_items"), ("hh", "heavy_hitters_items")):
            arities = {n for n, _ in self.procs.get(fn, [])}
            self.fmt[f"{short}_items"] = fn
            self.fmt[f"{short}_hint"] = "" if 2 in arities or not arities else ", NULL::bigint"
        self.meta_server = {
            "server_version": self.q1("SHOW server_version"),
            "topk_pg_version": self.q1("SELECT extversion FROM pg_extension WHERE extname = 'topk_pg'"),
            "citus_hll_version": self.q1("SELECT extversion FROM pg_extension WHERE extname = 'hll'"),
            "topn_version": self.q1("SELECT extversion FROM pg_extension WHERE extname = 'topn'"),
            "datasketches_version": self.q1("SELECT extversion FROM pg_extension WHERE extname = 'datasketches'"),
            "settings": dict(self.q("""SELECT name, current_setting(name) FROM pg_settings WHERE name IN
                ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'maintenance_work_mem',
                 'effective_cache_size', 'max_wal_size', 'checkpoint_timeout', 'jit', 'TimeZone',
                 'max_worker_processes', 'max_parallel_workers', 'synchronous_commit', 'fsync')
                 ORDER BY name""")),
        }
        print("functions found: " + ", ".join(
            f"{f} {'yes' if self.has(f) else 'no'}" for f in
            ["hll_agg", "cms_agg", "topk_agg", "topk_merge_agg", "topk_items", "heavy_hitters_agg",
             "heavy_hitters_merge_agg", "heavy_hitters_items", "citus.hll_add_agg", "topk.create_pipeline",
             "topk.run_speed", "topk.run_batch", "topk.run"]), flush=True)

    def has(self, name):
        return name in self.procs

    def missing(self, needs):
        return [n for n in needs if not self.has(n)]

    # ---------- data ----------
    def csv_path(self, skew, rows):
        return DATA_DIR / f"events_r{rows}_i{self.args.items}_s{skew}_d{DAYS}_seed{SEED}.csv"

    def generate(self, skew, rows):
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(DATA_DIR, 0o755)  # the server (user postgres) reads the files with COPY
        except OSError:
            pass
        path = self.csv_path(skew, rows)
        if path.exists():
            print(f"== using cached {path}", flush=True)
            return path, None
        print(f"== generating {rows:,} events, Zipf s={skew} → {path}", flush=True)
        tmp = path.with_suffix(".csv.part")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(self.args.gen), "--rows", str(rows), "--items", str(self.args.items),
                        "--zipf-s", skew, "--days", str(DAYS), "--seed", str(SEED), "--out", str(tmp)], check=True)
        tmp.rename(path)
        os.chmod(path, 0o644)
        return path, time.perf_counter() - t0

    def head_file(self, src, n, days=None):
        """The first n events of a data file (the 'new events' of the pipeline figures), of its
        first `days` days only when given. Returns the file and its number of events."""
        if days is None and n >= self.rows:
            return src, self.rows
        cutoff = (datetime.date(2024, 1, 1) + datetime.timedelta(days=days)).isoformat() if days else None
        dst = src.with_name(src.stem + (f".days{days}" if days else "") + f".head{n}.csv")
        if not dst.exists():
            tmp = dst.with_suffix(".part")
            with open(src) as fi, open(tmp, "w") as fo:
                k = 0
                for line in fi:
                    if k >= n:
                        break
                    if cutoff and line[:10] >= cutoff:
                        continue
                    fo.write(line)
                    k += 1
            tmp.rename(dst)
            os.chmod(dst, 0o644)
        with open(dst) as fh:
            return dst, sum(1 for _ in fh)

    EVENTS_DDL = ("(event_time timestamptz NOT NULL, product_id bigint NOT NULL, user_id bigint NOT NULL, "
                  "quantity int NOT NULL, price_cents bigint NOT NULL)")
    COPY_COLS = "(event_time, product_id, user_id, quantity, price_cents)"

    def load(self, path):
        self.q("DROP TABLE IF EXISTS events, bench_onepass, bench_daily, exact_counts CASCADE")
        self.q(f"CREATE TABLE events {self.EVENTS_DDL}")
        t0 = time.perf_counter()
        self.q(f"COPY events {self.COPY_COLS} FROM '{path}' WITH (FORMAT csv)")
        copy_s = time.perf_counter() - t0
        # The planner cannot know how many days an expression of event_time takes: without
        # statistics on it, it guesses ~1.8M groups for the 30 days and sorts 10M rows per
        # day query instead of hashing 30 groups in parallel. Extended statistics on the
        # expression (PostgreSQL 14+) tell it; docs/operations.md recommends the same.
        self.q(f"CREATE STATISTICS events_day ON ({DAY}) FROM events")
        t0 = time.perf_counter()
        self.q("VACUUM ANALYZE events")
        vacuum_s = time.perf_counter() - t0
        rows = self.q1("SELECT count(*) FROM events")
        size = self.q1("SELECT pg_total_relation_size('events')")
        return {"copy_s": copy_s, "vacuum_analyze_s": vacuum_s, "rows": rows, "table_bytes": size}

    # ---------- timing ----------
    def run_figures(self, skew):
        reps = self.args.reps
        todo, results = [], {}
        for f in FIGURES:
            r = {"label": f["label"], "section": f["section"], "goal": f["goal"].get(skew), "peers": f["peers"],
                 "inputs": f["inputs"]}
            miss = self.missing(f["needs"])
            if f["needs"] == ["citus.hll_add_agg"] and not self.citus:
                miss = ["postgresql-15-hll"]
            if miss:
                r["status"] = "n/a (not installed)"
                r["missing"] = miss
            else:
                r["status"] = "ok"
                r["sql"] = f["sql"].format(**self.fmt)
                r["times_s"] = []
                todo.append(f["key"])
            results[f["key"]] = r
        # The 30 daily sketches for the merge figures: built once, untimed.
        self.build_sketch_tables()
        for rep in range(reps + 1):  # rep 0 is the warm-up
            what = "warm-up" if rep == 0 else f"repetition {rep}/{reps}"
            print(f"== {what}", flush=True)
            for key in todo:
                r = results[key]
                if r["status"] != "ok":
                    continue
                try:
                    dt, rows = self.timed(r["sql"])
                except psycopg.Error as e:
                    self.error(f"s={skew} {key}", e)
                    r["status"] = f"error: {str(e).strip().splitlines()[0]}"
                    continue
                if rep > 0:
                    r["times_s"].append(dt)
                r["_rows"] = rows
                if self.args.verbose:
                    print(f"   {key:24s} {dt * 1000:10.1f} ms", flush=True)
        base = results["count"]
        base_med = statistics.median(base["times_s"]) if base.get("times_s") else None
        for key, r in results.items():
            rows = r.pop("_rows", None)
            if r["status"] != "ok":
                r.pop("times_s", None)
                continue
            t = r["times_s"]
            r["median_s"], r["min_s"], r["max_s"] = statistics.median(t), min(t), max(t)
            r["ratio"] = r["median_s"] / base_med if base_med else None
            if r.get("inputs"):
                r["per_input_s"] = r["median_s"] / r["inputs"]
            if key in ("hll_agg", "citus_hll11", "citus_hll14", "ds_hll"):
                r["estimate"], r["sketch_bytes"] = rows[0][0], rows[0][1]
            elif key in ("cms_agg", "topk_agg", "topk_agg_text", "heavy_hitters_agg", "topn_agg", "ds_fi_agg"):
                r["sketch_bytes"] = rows[0][0]
            elif key in ("count", "exact_distinct"):
                r["value"] = rows[0][0]
        for r in results.values():
            r["peer"] = peer_cell(results, r.pop("peers"))
        return results

    def build_sketch_tables(self):
        cols = [(c, e) for c, e, needs in SKETCH_COLUMNS if not self.missing(needs)]
        self.sketch_cols = [c for c, _ in cols]
        self.sketch_cols_daily = list(self.sketch_cols)
        if not cols:
            self.q("CREATE TABLE bench_onepass AS SELECT 1 AS dummy")
            self.q(f"CREATE TABLE bench_daily AS SELECT DISTINCT {DAY} AS day FROM events")
            return
        sel = ", ".join(f"{e} AS {c}" for c, e in cols)
        print("== building the one-pass and the 30 daily sketches (untimed, for accuracy and merges)", flush=True)
        try:
            self.q(f"CREATE TABLE bench_onepass AS SELECT {sel} FROM events")
            self.q(f"CREATE TABLE bench_daily AS SELECT {DAY} AS day, {sel} FROM events GROUP BY 1")
            self.q("ANALYZE bench_daily")
        except psycopg.Error as e:
            self.error("building the sketch tables", e)
            self.q("DROP TABLE IF EXISTS bench_onepass, bench_daily")
            self.q("CREATE TABLE bench_onepass AS SELECT 1 AS dummy")
            self.q(f"CREATE TABLE bench_daily AS SELECT DISTINCT {DAY} AS day FROM events")
            self.sketch_cols = self.sketch_cols_daily = []

    # ---------- accuracy ----------
    def accuracy(self, skew, fig):
        acc, sizes = {}, {}
        self.q("CREATE TABLE exact_counts AS SELECT product_id, count(*) AS c FROM events GROUP BY product_id")
        exact = [r[0] for r in self.q("SELECT product_id FROM exact_counts ORDER BY c DESC, product_id LIMIT 1000")]
        exact_count = dict(self.q("SELECT product_id, c FROM exact_counts ORDER BY c DESC, product_id LIMIT 1000"))
        facts = self.q("""SELECT (SELECT count(*) FROM exact_counts),
                                 (SELECT c FROM exact_counts ORDER BY c DESC, product_id OFFSET 99 LIMIT 1),
                                 (SELECT c FROM exact_counts ORDER BY c DESC, product_id OFFSET 100 LIMIT 1),
                                 (SELECT c FROM exact_counts ORDER BY c DESC, product_id OFFSET 999 LIMIT 1)""")[0]
        dataset = {"distinct_products": facts[0], "count_100": facts[1], "count_101": facts[2], "count_1000": facts[3]}
        distinct_users = fig["exact_distinct"].get("value") if fig["exact_distinct"]["status"] == "ok" else None
        if distinct_users is None:
            distinct_users = self.q1("SELECT count(DISTINCT user_id) FROM events")
        dataset["distinct_users"] = distinct_users
        top100_share = self.q1("SELECT sum(c)::float8 / (SELECT sum(c) FROM exact_counts) FROM "
                               "(SELECT c FROM exact_counts ORDER BY c DESC LIMIT 100) t")
        dataset["top100_share"] = top100_share

        def list_eval(name, sql):
            try:
                rows = self.q(sql)
            except psycopg.Error as e:
                self.error(f"s={skew} accuracy {name}", e)
                acc[name] = {"status": f"error: {str(e).strip().splitlines()[0]}"}
                return
            items = [int(r[0]) for r in rows]  # bigint, or text from a generic topk_items
            got = {int(r[0]): int(r[1]) for r in rows}
            e100, e1000 = set(exact[:100]), set(exact[:1000])
            # Exact counts of every reported item, in one query.
            true = dict(self.q("SELECT product_id, c FROM exact_counts WHERE product_id = ANY(%s)", (items,))) if items else {}
            rel = [(got[it] - true[it]) / true[it] for it in items[:100] if true.get(it)]

            def tie_recall(k):
                # Tie-aware recall: a reported item counts if its exact count reaches the K-th exact count.
                if len(exact) < k:
                    return len(set(items[:k]) & set(exact[:k]))
                kth = exact_count[exact[k - 1]]
                return min(k, sum(1 for it in items[:k] if true.get(it, 0) >= kth))

            acc[name] = {
                "status": "ok", "returned": len(items),
                "recall_100": len(set(items[:100]) & e100), "recall_1000": len(set(items[:1000]) & e1000),
                "recall_100_ties": tie_recall(100), "recall_1000_ties": tie_recall(1000),
                "count_rel_err_median_top100": statistics.median(rel) if rel else None,
                "count_rel_err_max_abs_top100": max((abs(x) for x in rel), default=None),
            }

        f = self.fmt
        if "topk" in self.sketch_cols and self.has("topk_items"):
            list_eval("topk one pass", f"SELECT item, count FROM {f['topk_items']}((SELECT topk FROM bench_onepass), 1000{f['topk_hint']}) ORDER BY rank")
            if self.has("topk_merge_agg"):
                list_eval("topk 30 daily merged", f"SELECT item, count FROM {f['topk_items']}((SELECT topk_merge_agg(topk) FROM bench_daily), 1000{f['topk_hint']}) ORDER BY rank")
        if "topk9kb" in self.sketch_cols and self.has("topk_items"):
            list_eval(f"topk capacity {CAP_9KB}, one pass", f"SELECT item, count FROM {f['topk_items']}((SELECT topk9kb FROM bench_onepass), 1000{f['topk_hint']}) ORDER BY rank")
            if self.has("topk_merge_agg"):
                list_eval(f"topk capacity {CAP_9KB}, 30 daily merged", f"SELECT item, count FROM {f['topk_items']}((SELECT topk_merge_agg(topk9kb) FROM bench_daily), 1000{f['topk_hint']}) ORDER BY rank")
        if "hh" in self.sketch_cols and self.has("heavy_hitters_items"):
            list_eval("heavy_hitters one pass", f"SELECT item, count FROM {f['hh_items']}((SELECT hh FROM bench_onepass), 1000{f['hh_hint']}) ORDER BY rank")
            if self.has("heavy_hitters_merge_agg"):
                list_eval("heavy_hitters 30 daily merged", f"SELECT item, count FROM {f['hh_items']}((SELECT heavy_hitters_merge_agg(hh) FROM bench_daily), 1000{f['hh_hint']}) ORDER BY rank")
        if "topn" in self.sketch_cols:
            list_eval("TopN one pass", "SELECT item, frequency FROM topn.topn((SELECT topn FROM bench_onepass), 1000)")
            list_eval("TopN 30 daily merged",
                      "SELECT item, frequency FROM topn.topn((SELECT topn.topn_union_agg(topn) FROM bench_daily), 1000)")
        if "dsfi" in self.sketch_cols:
            fs = "SELECT str, estimate FROM ds.frequent_strings_sketch_result_no_false_negatives(({})) ORDER BY estimate DESC, str LIMIT 1000"
            list_eval("DataSketches one pass", fs.format("SELECT dsfi FROM bench_onepass"))
            list_eval("DataSketches 30 daily merged", fs.format("SELECT ds.frequent_strings_sketch_merge(11, dsfi) FROM bench_daily"))
        for name in ("topk one pass", "topk 30 daily merged", f"topk capacity {CAP_9KB}, one pass",
                     f"topk capacity {CAP_9KB}, 30 daily merged", "heavy_hitters one pass", "heavy_hitters 30 daily merged",
                     "TopN one pass", "TopN 30 daily merged", "DataSketches one pass", "DataSketches 30 daily merged"):
            if name not in acc:
                acc[name] = {"status": "n/a (not installed)"}

        def rel_err(est):
            return (est - distinct_users) / distinct_users if est is not None and distinct_users else None

        if "hll" in self.sketch_cols:
            try:
                one = self.q1("SELECT hll_count(hll) FROM bench_onepass")
                merged = self.q1("SELECT hll_count(hll_merge_agg(hll)) FROM bench_daily")
                acc["hll one pass"] = {"status": "ok", "estimate": one, "rel_err": rel_err(one)}
                acc["hll 30 daily merged"] = {"status": "ok", "estimate": merged, "rel_err": rel_err(merged)}
            except psycopg.Error as e:
                self.error(f"s={skew} accuracy hll", e)
        else:
            acc["hll one pass"] = acc["hll 30 daily merged"] = {"status": "n/a (not installed)"}
        if "dshll" in self.sketch_cols:
            try:
                merged = self.q1("SELECT ds.hll_sketch_get_estimate(ds.hll_sketch_union(dshll, 14)) FROM bench_daily")
                acc["DataSketches hll lg_k 14, 30 daily merged"] = {"status": "ok", "estimate": merged, "rel_err": rel_err(merged)}
            except psycopg.Error as e:
                self.error(f"s={skew} accuracy DataSketches hll", e)
        for key, name in (("citus_hll11", "Citus hll log2m 11"), ("citus_hll14", "Citus hll log2m 14"),
                          ("ds_hll", "DataSketches hll lg_k 14")):
            r = fig[key]
            acc[name] = ({"status": "ok", "estimate": r["estimate"], "rel_err": rel_err(r["estimate"])}
                         if r["status"] == "ok" else {"status": r["status"]})
            if r["status"] == "ok":
                sizes[name] = {"one pass": r["sketch_bytes"]}
        if "cms" in self.sketch_cols and self.has("cms_estimate"):
            try:
                row = self.q("""SELECT max(e - c), avg(e - c)::float8, max((e - c)::float8 / c), avg((e - c)::float8 / c),
                                       min(e - c), (SELECT cms_error_bound(cms) FROM bench_onepass)
                                FROM (SELECT x.c, cms_estimate(o.cms, x.product_id) AS e
                                      FROM (SELECT product_id, c FROM exact_counts ORDER BY c DESC, product_id LIMIT 1000) x,
                                           bench_onepass o) t""")[0]
                acc["cms one pass (top 1000 items)"] = {
                    "status": "ok", "max_err": row[0], "mean_err": row[1], "max_rel_err": row[2],
                    "mean_rel_err": row[3], "min_err": row[4], "error_bound": row[5]}
            except psycopg.Error as e:
                self.error(f"s={skew} accuracy cms", e)
        else:
            acc["cms one pass (top 1000 items)"] = {"status": "n/a (not installed)"}
        for c in self.sketch_cols:
            try:
                one = self.q1(f"SELECT pg_column_size({c}) FROM bench_onepass")
                daily = self.q(f"SELECT avg(pg_column_size({c}))::float8, max(pg_column_size({c})) FROM bench_daily")[0]
                sizes[c] = {"one pass": one, "daily avg": daily[0], "daily max": daily[1]}
            except psycopg.Error as e:
                self.error(f"s={skew} sizes {c}", e)
        return acc, sizes, dataset

    # ---------- text items ----------
    def text_items(self, rows):
        """Text items of natural-language-like frequencies: `rows` events of Zipf(s=1) over WORDS
        pseudo-words (2-9 letters, longer for rarer ranks, as in English), generated in SQL from
        the event number alone (hashint8, md5: the same words on every run), 30 days. Stored size
        and recall@1000 of the default `topk_agg(word)` one pass and of the merge of the 30 daily
        sketches, and of the peers when installed."""
        out = {"rows": rows, "words": WORDS}
        if self.missing(["topk_agg", "topk_items", "topk_merge_agg"]):
            return {"status": "n/a (not installed)"}
        print(f"== text items: {rows:,} events of Zipf(1) over {WORDS:,} pseudo-words", flush=True)
        try:
            self.q("DROP TABLE IF EXISTS bench_vocab, bench_words, bench_words_exact")
            self.q(f"""CREATE TABLE bench_vocab AS
                SELECT r, translate(substr(md5(r::text), 1, 2 + floor(log(2, r::numeric) / 3)::int + (hashint4(r) & 2147483647) % 3),
                                    '0123456789abcdef', 'etaoinshrdlucmwf') AS word
                FROM generate_series(1, {WORDS}) r""")
            self.q(f"""CREATE TABLE bench_words AS
                SELECT ((g - 1) * {DAYS} / {rows})::int AS day, v.word
                FROM generate_series(1, {rows}::bigint) g
                JOIN bench_vocab v ON v.r = floor(exp(ln({WORDS}) * ((hashint8(g) & 2147483647)::float8 / 2147483648)))::int""")
            self.q("ANALYZE bench_words")
            self.q("CREATE TABLE bench_words_exact AS SELECT word, count(*) AS c FROM bench_words GROUP BY word")
            exact = self.q("SELECT word, c FROM bench_words_exact ORDER BY c DESC, word LIMIT 1000")
            out["distinct"], out["avg_letters"] = self.q("SELECT count(*), (SELECT avg(length(word))::float8 FROM bench_words) FROM bench_words_exact")[0]
        except psycopg.Error as e:
            self.error("text items: generating the words", e)
            return {"status": f"error: {str(e).strip().splitlines()[0]}"}
        want = {w for w, _ in exact}
        kth = exact[-1][1] if len(exact) == 1000 else 0

        def recall(items):
            got = items[:1000]
            true = dict(self.q("SELECT word, c FROM bench_words_exact WHERE word = ANY(%s)", (got,))) if got else {}
            return {"recall_1000": len(set(got) & want),
                    "recall_1000_ties": min(1000, sum(1 for w in got if true.get(w, 0) >= kth)), "returned": len(got)}

        sketches = [("topk_agg(word) (default capacity)", "topk_agg(word)", "topk_merge_agg(s)",
                     "SELECT item FROM topk_items(({}), 1000) ORDER BY rank", ["topk_agg"])]
        sketches.append(("TopN `topn_add_agg(word)`", "topn.topn_add_agg(word)", "topn.topn_union_agg(s)",
                         "SELECT item FROM topn.topn(({}), 1000)", ["topn.topn_add_agg"]))
        sketches.append(("DataSketches `frequent_strings_sketch_build(11, word)`", "ds.frequent_strings_sketch_build(11, word::varchar)",
                         "ds.frequent_strings_sketch_merge(11, s)",
                         "SELECT str FROM ds.frequent_strings_sketch_result_no_false_negatives(({})) ORDER BY estimate DESC, str LIMIT 1000",
                         ["ds.frequent_strings_sketch_build"]))
        res = {}
        for name, agg, merge, items, needs in sketches:
            if self.missing(needs):
                res[name] = {"status": "n/a (not installed)"}
                continue
            try:
                self.q("DROP TABLE IF EXISTS bench_words_one, bench_words_daily")
                self.q(f"CREATE TABLE bench_words_one AS SELECT {agg} AS s FROM bench_words")
                self.q(f"CREATE TABLE bench_words_daily AS SELECT day, {agg} AS s FROM bench_words GROUP BY day")
                one = recall([r[0] for r in self.q(items.format("SELECT s FROM bench_words_one"))])
                merged = recall([r[0] for r in self.q(items.format(f"SELECT {merge} FROM bench_words_daily"))])
                size = self.q1("SELECT pg_column_size(s) FROM bench_words_one")
                avg, mx = self.q("SELECT avg(pg_column_size(s))::float8, max(pg_column_size(s)) FROM bench_words_daily")[0]
                res[name] = {"status": "ok", "one pass": one, "merged": merged, "one pass bytes": size,
                             "daily avg bytes": avg, "daily max bytes": mx}
            except psycopg.Error as e:
                self.error(f"text items: {name}", e)
                res[name] = {"status": f"error: {str(e).strip().splitlines()[0]}"}
        self.q("DROP TABLE IF EXISTS bench_vocab, bench_words, bench_words_exact, bench_words_one, bench_words_daily")
        out["status"] = "ok"
        out["sketches"] = res
        return out

    # ---------- pipeline ----------
    def call(self, fn, *args):
        kinds = {k for _, k in self.procs.get(fn, [])}
        lits = ", ".join(pgsql.Literal(a).as_string(self.conn) for a in args)
        return f"CALL {fn}({lits})" if "p" in kinds else f"SELECT {fn}({lits})"

    # The application table of the pipeline figures (issue 16): a primary key that COPY and
    # INSERT must maintain, and an index on the time column, with or without a pipeline.
    PIPE_DDL = ("(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_time timestamptz NOT NULL, "
                "product_id bigint NOT NULL, user_id bigint NOT NULL, quantity int NOT NULL, price_cents bigint NOT NULL)")

    def make_table(self, table, pipeline=None):
        """The source table (PK + index on event_time), and a pipeline on it (distinct column on) if named."""
        self.q(f"CREATE TABLE {table} {self.PIPE_DDL}")
        self.q(f"CREATE INDEX {table}_event_time ON {table} (event_time)")
        if pipeline:
            if self.pipe_distinct:
                self.q("SELECT topk.create_pipeline(%s, %s::regclass, 'product_id', 'event_time', "
                       "distinct_column => 'user_id')", (pipeline, f"public.{table}"))
            else:
                self.q(self.call("topk.create_pipeline", pipeline, f"public.{table}", "product_id", "event_time"))

    def drop_table(self, table, pipeline=None):
        if pipeline:
            self.drop_pipeline(pipeline, table)
        else:
            self.q(f"DROP TABLE {table}")

    def set_clock(self, name, table):
        """Replay: the pipeline clock just after the data's last day (+ allowed lateness), so that
        the batch rolls up the data's hours and days, not every empty window until now().
        Returns (first event, last event, clock)."""
        lo, hi = self.q(f"SELECT min(event_time), max(event_time) FROM {table}")[0]
        if not self.pipeline_clock or hi is None:
            return lo, hi, None
        clock = self.q1("""UPDATE topk.pipelines
                           SET clock = topk.window_end('day', topk.window_start('day', %s, time_zone), time_zone)
                                       + allowed_lateness
                           WHERE name = %s RETURNING clock""", (hi, name))
        return lo, hi, clock

    def run_call(self, name):
        """CALL topk.run(name) (speed, then batch); run_speed then run_batch where there is no topk.run."""
        if self.has("topk.run"):
            return [self.call("topk.run", name)]
        return [self.call("topk.run_speed", name)] + ([self.call("topk.run_batch", name)] if self.has("topk.run_batch") else [])

    def job_split(self, name):
        """Server-side time of the tasks of a pipeline's runs (topk.job_log), speed vs batch."""
        if not self.has_job_log:
            return None
        rows = self.q("""SELECT task = 'speed', count(*), coalesce(extract(epoch FROM sum(duration)), 0)::float8
                         FROM topk.job_log WHERE pipeline = %s GROUP BY 1""", (name,))
        split = {"speed_s": 0.0, "speed_tasks": 0, "batch_s": 0.0, "batch_tasks": 0}
        for speed, n, s in rows:
            k = "speed" if speed else "batch"
            split[f"{k}_s"], split[f"{k}_tasks"] = s, n
        return split

    def storage(self, name, table):
        """pg_total_relation_size (heap, indexes, TOAST) of every table of the pipeline's schema, and of the source."""
        tables = dict(self.q("""SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
                                JOIN pg_namespace n ON n.oid = c.relnamespace
                                WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm')
                                ORDER BY 2 DESC, 1""", (name,)))
        src = self.q1("SELECT pg_total_relation_size(%s::regclass)", (f"public.{table}",))
        total = sum(tables.values())
        return {"schema": name, "schema_bytes": total, "source_bytes": src, "ratio": total / src if src else None,
                "tables": tables}

    def pipeline(self, skew, path):
        tag = SKEWS[skew]["tag"]
        if not self.has("topk.create_pipeline"):
            return {"status": "n/a (not installed)"}
        days = self.args.pipeline_days
        newf, n = self.head_file(path, min(PIPELINE_EVENTS, self.rows), days)
        self.pipeline_clock = bool(self.q1(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('topk.pipelines') AND attname = 'clock'"))
        self.has_job_log = self.q1("SELECT to_regclass('topk.job_log') IS NOT NULL")
        self.pipe_distinct = bool(self.q1(
            "SELECT count(*) FROM pg_proc WHERE oid = to_regproc('topk.create_pipeline') AND 'distinct_column' = ANY (proargnames)"))
        reps = self.args.reps
        first = 1 if self.args.smoke else 0  # rep 0 is the warm-up (none for --smoke)
        times = {k: [] for k in ("copy_plain", "copy_pipeline", "run", "insert_plain", "insert_pipeline", "run_batch_day")}
        splits, storage, span = [], None, None
        last = None  # the pipeline kept for the dashboard figure
        copy_sql = lambda t: f"COPY {t} {self.COPY_COLS} FROM '{newf}' WITH (FORMAT csv)"
        v = self.args.verbose

        def timed_checkpointed(sql):
            # A checkpoint first, so that no measurement pays for the dirty pages of the one before.
            self.q("CHECKPOINT")
            return self.timed(sql)[0]

        # 1, 3, 4: COPY without and with a pipeline, alternating which goes first (round-robin:
        # the machine's drift hits both alike); after the pipeline's COPY, topk.run and the storage.
        try:
            for rep in range(first, reps + 1):
                order = ("plain", "pipeline") if rep % 2 == 0 else ("pipeline", "plain")
                for kind in order:
                    if kind == "plain":
                        table = f"copy_plain_{tag}_r{rep}"
                        self.make_table(table)
                        dt = timed_checkpointed(copy_sql(table))
                        if rep:
                            times["copy_plain"].append(dt)
                        if v:
                            print(f"   copy_plain      r{rep} {dt * 1000:10.1f} ms", flush=True)
                        self.drop_table(table)
                        continue
                    name, table = f"bench_{tag}_r{rep}", f"pipe_{tag}_r{rep}"
                    self.make_table(table, name)
                    dt = timed_checkpointed(copy_sql(table))
                    if rep:
                        times["copy_pipeline"].append(dt)
                    lo, hi, clock = self.set_clock(name, table)
                    span = {"first_event": lo, "last_event": hi, "clock": clock}
                    self.q("CHECKPOINT")
                    t0 = time.perf_counter()
                    for c in self.run_call(name):
                        self.q(c)
                    dr = time.perf_counter() - t0
                    split = self.job_split(name)
                    if rep:
                        times["run"].append(dr)
                        splits.append(split)
                    storage = self.storage(name, table)
                    if v:
                        print(f"   copy_pipeline   r{rep} {dt * 1000:10.1f} ms; run {dr * 1000:.1f} ms {split or ''}; "
                              f"storage {storage['schema_bytes']:,} / {storage['source_bytes']:,} B", flush=True)
                    if last:
                        self.drop_pipeline(*last)
                    last = (name, table)
        except psycopg.Error as e:
            self.error(f"s={skew} pipeline COPY/run (repetition {rep})", e)
            return {"status": f"error: {str(e).strip().splitlines()[0]}"}
        if v and storage:
            for t, b in storage["tables"].items():
                print(f"   storage {storage['schema']}.{t:28s} {b:>14,} B", flush=True)

        # 2: single-row INSERTs, one statement each in autocommit, without and with a pipeline.
        ins_n = self.args.inserts
        rows = []
        with open(newf) as fh:
            for line in fh:
                if len(rows) >= ins_n:
                    break
                t, p, u, qty, c = line.rstrip("\n").split(",")
                rows.append((datetime.datetime.fromisoformat(t), int(p), int(u), int(qty), int(c)))
        ins_sql = f"INSERT INTO {{}} {self.COPY_COLS} VALUES (%s, %s, %s, %s, %s)"
        try:
            for rep in range(first, reps + 1):
                order = ("plain", "pipeline") if rep % 2 == 0 else ("pipeline", "plain")
                for kind in order:
                    table = f"ins_{kind}_{tag}_r{rep}"
                    name = f"bench_{tag}_ins{rep}" if kind == "pipeline" else None
                    self.make_table(table, name)
                    self.q("CHECKPOINT")
                    sql = ins_sql.format(table)
                    t0 = time.perf_counter()
                    with self.conn.cursor() as cur:
                        for r in rows:
                            cur.execute(sql, r)
                    dt = time.perf_counter() - t0
                    if rep:
                        times[f"insert_{kind}"].append(dt)
                    if v:
                        print(f"   insert_{kind:8s} r{rep} {dt * 1000:10.1f} ms", flush=True)
                    self.drop_table(table, name)
        except psycopg.Error as e:
            self.error(f"s={skew} pipeline INSERTs (repetition {rep})", e)
            return {"status": f"error: {str(e).strip().splitlines()[0]}"}

        # run_batch for a day: a pipeline on a table holding only the first day's events.
        day_rows = self.q1("SELECT count(*) FROM events WHERE event_time < timestamptz '2024-01-02 00:00+00'")
        try:
            for rep in range(first, reps + 1):
                dayname, table = f"bench_{tag}_day{rep}", f"pday_{tag}_r{rep}"
                self.make_table(table, dayname)
                if self.pipeline_clock:
                    # the clock just after the day (+ allowed lateness): run_batch rolls up its 24 hours and the day
                    self.q("UPDATE topk.pipelines SET clock = timestamptz '2024-01-02 01:00+00' WHERE name = %s", (dayname,))
                self.q(f"INSERT INTO {table} {self.COPY_COLS} SELECT {self.COPY_COLS[1:-1]} FROM events "
                       "WHERE event_time < timestamptz '2024-01-02 00:00+00'")
                dt = timed_checkpointed(self.call("topk.run_batch", dayname))
                if rep:
                    times["run_batch_day"].append(dt)
                self.drop_table(table, dayname)
        except psycopg.Error as e:
            self.error(f"s={skew} pipeline run_batch for a day (repetition {rep})", e)
            return {"status": f"error: {str(e).strip().splitlines()[0]}"}

        dist = "distinct column on" if self.pipe_distinct else "distinct column not installed"
        labels = {
            "copy_plain": f"COPY {n:,} events{f' (the first {days} days)' if days else ''}, "
                          "no pipeline (primary key + index on event_time)",
            "copy_pipeline": f"COPY {n:,} events, same table with a pipeline ({dist})",
            "insert_plain": f"{ins_n:,} single-row INSERTs (autocommit), no pipeline",
            "insert_pipeline": f"{ins_n:,} single-row INSERTs (autocommit), with a pipeline",
            "run": (f"`CALL topk.run` (speed + batch) over those {n:,} new events"
                    if self.has("topk.run") else f"`CALL topk.run_speed` + `run_batch` over those {n:,} new events"),
            "run_batch_day": f"`CALL topk.run_batch` for a day ({day_rows:,} events)",
        }
        out = {"status": "ok", "events": n, "events_file": str(newf), "days": days, "inserts": ins_n, "distinct_column": "user_id" if self.pipe_distinct else None,
               "table_ddl": f"CREATE TABLE … {self.PIPE_DDL}; CREATE INDEX ON … (event_time)",
               "goals": dict(PIPELINE_GOALS), "span": span}
        for k, t in times.items():
            out[k] = {"label": labels[k], "status": "ok", "times_s": t, "median_s": statistics.median(t),
                      "min_s": min(t), "max_s": max(t)}
        med = lambda k: out[k]["median_s"]
        out["copy_ratio"] = med("copy_pipeline") / med("copy_plain")
        out["copy_overhead"] = out["copy_ratio"]  # the key of earlier versions
        out["insert_ratio"] = med("insert_pipeline") / med("insert_plain")
        out["run"]["rows_per_s"] = n / med("run")
        if splits and all(splits):
            out["run"]["split"] = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
        out["storage"] = storage
        out["dashboard"] = self.pgbench(last[0])
        try:
            self.drop_pipeline(*last)
        except psycopg.Error as e:
            self.error(f"s={skew} dropping pipeline {last[0]}", e)
        return out

    def drop_pipeline(self, name, table):
        """Drops a pipeline of an earlier repetition and its table, so they weigh on nothing after."""
        if self.has("topk.drop_pipeline"):
            self.q(self.call("topk.drop_pipeline", name))
        self.q(f"DROP TABLE {table}")

    def pgbench(self, name):
        view = f"{name}.top_1000"
        try:
            cols = [r[0] for r in self.q(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum", (view,))]
            types = dict(self.q("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                                "WHERE attrelid = %s::regclass AND attnum > 0", (view,)))
        except psycopg.Error as e:
            self.error(f"dashboard: {view}", e)
            return {"status": f"error: {str(e).strip().splitlines()[0]}"}
        wcol = next((c for c in ("window_start", "bucket", "window", "period_start", "day", "ts") if c in cols),
                    next((c for c in cols if types[c].startswith(("timestamp", "date"))), None))
        gcol = next((c for c in ("granularity", "grain", "period", "resolution") if c in cols), None)
        ocol = "rank" if "rank" in cols else ("count DESC" if "count" in cols else None)
        if wcol is None or ocol is None:
            msg = f"cannot tell the window and rank columns of {view} (columns: {', '.join(cols)})"
            self.error("dashboard", RuntimeError(msg))
            return {"status": f"error: {msg}"}
        keys = [c for c in (gcol, wcol) if c]
        # A full window, of granularity 'day' when there is one, the latest such.
        prefer = f"({gcol} = 'day') DESC, " if gcol else ""
        pick = self.q(f"SELECT {', '.join(keys)} FROM {view} GROUP BY {', '.join(keys)} "
                      f"ORDER BY {prefer}count(*) DESC, {wcol} DESC LIMIT 1")
        if not pick:
            self.error("dashboard", RuntimeError(f"{view} is empty after run_speed"))
            return {"status": f"error: {view} is empty"}
        conds = " AND ".join(f"{c} = {pgsql.Literal(v).as_string(self.conn)}" for c, v in zip(keys, pick[0]))
        query = f"SELECT * FROM {view} WHERE {conds} ORDER BY {ocol} LIMIT 10;"
        # The same query on a plain table holding the view's rows (the reference figure's
        # "precomputed table"), and on the view with prepared statements (what a BI tool
        # does over JDBC once a statement repeats): the floor of this machine, same run.
        table = f"dashboard_plain_{name}"
        try:
            self.q(f"DROP TABLE IF EXISTS {table}")
            self.q(f"CREATE TABLE {table} AS SELECT * FROM {view}")
            self.q(f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(keys)}, rank)" if ocol == "rank" else
                   f"CREATE INDEX ON {table} ({', '.join(keys)})")
            self.q(f"ANALYZE {table}")
        except psycopg.Error as e:
            self.error("dashboard: plain table", e)
            return {"status": f"error: {str(e).strip().splitlines()[0]}"}
        out = {"status": "ok", "query": query}
        for key, q, mode in (("view", query, "simple"),
                             ("plain_table", query.replace(view, table), "simple"),
                             ("view_prepared", query, "prepared")):
            r = self.pgbench_run(q, mode)
            if r.get("status") != "ok":
                return r
            out[key] = r
        out.update({k: out["view"][k] for k in ("transactions", "tps", "p50_ms", "p99_ms", "max_ms", "seconds")})
        self.q(f"DROP TABLE {table}")
        return out

    def pgbench_run(self, query, mode):
        """pgbench -c 4 -j 2 of one query; p50/p99 from the per-transaction log."""
        tmp = Path(tempfile.mkdtemp(prefix="topk_pg_pgbench."))
        script = tmp / "dashboard.sql"
        script.write_text(query + "\n")
        secs = self.args.pgbench_seconds
        cmd = [self.pgbench_bin, "-n", "-c", "4", "-j", "2", "-M", mode, "-T", str(secs), "-l",
               "--log-prefix", str(tmp / "log"), "-f", str(script)]
        print(f"== pgbench -c 4 -j 2 -M {mode} -T {secs}: {query}", flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or ["pgbench failed"])[-1]
            self.error("pgbench", RuntimeError(msg))
            return {"status": f"error: {msg}", "query": query}
        lat = []
        for fn in glob.glob(str(tmp / "log.*")):
            with open(fn) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 3 and parts[2].isdigit():
                        lat.append(int(parts[2]) / 1000.0)  # µs → ms
        shutil.rmtree(tmp, ignore_errors=True)
        if not lat:
            self.error("pgbench", RuntimeError("empty transaction log"))
            return {"status": "error: empty transaction log", "query": query}
        lat.sort()
        pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
        return {"status": "ok", "query": query, "mode": mode, "transactions": len(lat), "tps": len(lat) / secs,
                "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": lat[-1], "seconds": secs}

    # ---------- the run ----------
    def run(self):
        a = self.args
        self.pgbench_bin = shutil.which("pgbench", path="/usr/lib/postgresql/15/bin:" + os.environ.get("PATH", ""))
        started = datetime.datetime.now(datetime.timezone.utc)
        self.setup_database()
        result = {"meta": self.meta(started), "runs": {}}
        for skew in a.skews:
            self.rows = a.rows
            print(f"\n######## Zipf s={skew} ({SKEWS[skew]['name']}), {a.rows:,} rows", flush=True)
            path, gen_s = self.generate(skew, a.rows)
            print("== COPY and VACUUM ANALYZE", flush=True)
            load = self.load(path)
            if load["rows"] != a.rows:
                self.error(f"s={skew} load", RuntimeError(f"COPY loaded {load['rows']:,} rows, expected {a.rows:,} "
                                                         f"(a truncated {path}? delete it to regenerate)"))
            load["generate_s"] = gen_s
            load["csv"] = str(path)
            figs = self.run_figures(skew)
            print("== accuracy", flush=True)
            acc, sizes, dataset = self.accuracy(skew, figs)
            print("== pipeline", flush=True)
            pipe = self.pipeline(skew, path)
            run = {"rows": a.rows, "load": load, "dataset": dataset, "figures": figs, "accuracy": acc,
                   "sizes": sizes, "pipeline": pipe}
            ref = REFERENCE_FACTS.get(skew)
            if a.rows == 10_000_000 and a.items == 1_000_000 and ref:
                bad = {k: (dataset.get(k), v) for k, v in ref.items() if dataset.get(k) != v}
                run["reference_dataset_check"] = "ok" if not bad else {"mismatch (got, expected)": bad}
            result["runs"][skew] = run
            self.q("DROP TABLE IF EXISTS events, bench_onepass, bench_daily, exact_counts CASCADE")
        result["text_items"] = self.text_items(a.rows)
        result["meta"]["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        result["meta"]["load_average_end"] = os.getloadavg()
        result["errors"] = self.errors
        md = render(result)
        print("\n" + md)
        out = Path(a.out)
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        out.with_suffix(".md").write_text(md)
        print(f"JSON written to {out}, Markdown to {out.with_suffix('.md')}")
        if self.errors:
            print(f"\n{len(self.errors)} error(s):", file=sys.stderr)
            for e in self.errors:
                print("  " + e, file=sys.stderr)
            return 1
        return 0

    def meta(self, started):
        cpu = "unknown"
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        mem = None
        try:
            for line in open("/proc/meminfo"):
                if line.startswith("MemTotal"):
                    mem = round(int(line.split()[1]) / 1024 / 1024, 1)
        except OSError:
            pass
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True).stdout.strip())
        return {
            "started": started.isoformat(timespec="seconds"), "rows": self.args.rows, "items": self.args.items,
            "days": DAYS, "seed": SEED, "skews": self.args.skews, "reps": self.args.reps, "smoke": self.args.smoke,
            "machine": {"nproc": os.cpu_count(), "mem_gib": mem, "cpu": cpu, "kernel": platform.release(),
                        "load_average_start": os.getloadavg()},
            "git": {"commit": commit, "dirty": dirty}, **self.meta_server,
        }


# ---------- rendering ----------
def fmt_time(s):
    if s is None:
        return "–"
    if s < 0.001:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1000:.3g} ms" if s * 1000 < 100 else f"{s * 1000:.0f} ms"
    return f"{s:.3g} s" if s < 100 else f"{s:.0f} s"


def fmt_pct(x, signed=True):
    return "–" if x is None else (f"{x * 100:+.2f}%" if signed else f"{x * 100:.2f}%")


def fmt_bytes(b):
    if b is None:
        return "–"
    return f"{b / 1024:.1f} KB" if b >= 1024 else f"{int(b)} B"


def goal_cell(value, goal, unit):
    """'≤ 1.15× (met)': the goal and whether this run's figure is within it (never asserted)."""
    if goal is None:
        return ""
    if value is None:
        return f"≤ {goal:g}{unit}"
    # judged on the figure as printed (two decimals), so that "1.15×" is never "not met" beside "≤ 1.15×"
    return f"≤ {goal:g}{unit} ({'met' if round(value, 2) <= goal else 'not met'})"


def render_pipeline(p):
    out = [""]
    if p.get("status") != "ok":
        out.append("Pipeline (COPY and INSERTs with/without a pipeline, topk.run, storage, run_batch for a day, "
                   f"top_1000 with pgbench): {p.get('status')}")
        return out
    g = p.get("goals", PIPELINE_GOALS)
    span = p.get("span") or {}
    out.append(f"Pipeline figures: table {p['table_ddl']}; pipeline `topk.create_pipeline(name, table, 'product_id', "
               f"'event_time'{', distinct_column => ' + repr(p['distinct_column']) if p.get('distinct_column') else ''})`; "
               f"events {span.get('first_event')} – {span.get('last_event')}, pipeline clock {span.get('clock')}.")
    out.append("")
    out.append("| pipeline | median | min–max | figure | goal |")
    out.append("|---|---|---|---|---|")

    def row(k, figure="", goal=""):
        r = p[k]
        out.append(f"| {r['label']} | {fmt_time(r['median_s'])} | {fmt_time(r['min_s'])} – {fmt_time(r['max_s'])} "
                   f"| {figure} | {goal} |")

    row("copy_plain")
    row("copy_pipeline", f"{p['copy_ratio']:.2f}× the COPY without", goal_cell(p["copy_ratio"], g["copy_ratio"], "×"))
    row("insert_plain")
    row("insert_pipeline", f"{p['insert_ratio']:.2f}× the INSERTs without",
        goal_cell(p["insert_ratio"], g["insert_ratio"], "×"))
    r = p["run"]
    sp = r.get("split")
    fig_ = f"{r['rows_per_s']:,.0f} rows/s"
    if sp:
        fig_ += (f"; tasks: speed {fmt_time(sp['speed_s'])}, batch {fmt_time(sp['batch_s'])} "
                 f"({sp['batch_tasks']:.0f} tasks)")
    row("run", fig_, goal_cell(r["median_s"], g["run_s"], " s"))
    st = p.get("storage")
    if st:
        out.append(f"| storage after the run: schema `{st['schema']}` ({len(st['tables'])} tables, indexes and TOAST "
                   f"included) / the source table | {st['schema_bytes'] / 2**20:.1f} MB / {st['source_bytes'] / 2**20:.1f} MB "
                   f"| | {st['ratio']:.2f}× the source | {goal_cell(st['ratio'], g['storage_ratio'], '×')} |")
    row("run_batch_day")
    d = p["dashboard"]
    if d.get("status") == "ok":
        for key, label, ref in (
                ("view", "`top_1000` dashboard", "p99 ≤ 0.3 ms (precomputed table 0.24 ms, 39k TPS)"),
                ("plain_table", "the same rows in a plain table (the precomputed-table floor, same run)", ""),
                ("view_prepared", "`top_1000` dashboard, prepared statements (`-M prepared`)", "p99 ≤ 0.3 ms")):
            r = d.get(key, d if key == "view" else None)
            if r:
                out.append(f"| {label}, pgbench -c 4 -j 2 -T {r['seconds']}: p50 / p99 | "
                           f"{r['p50_ms']:.3f} / {r['p99_ms']:.3f} ms | | {r['tps']:,.0f} TPS | {ref} |")
    else:
        out.append(f"| `top_1000` dashboard, pgbench | {d.get('status')} | | | p99 ≤ 0.3 ms |")
    return out


def peer_cell(results, keys):
    """The peers' ratios (or times, for the merges) of the same run, as a table cell."""
    cells = []
    for k in keys:
        p = results.get(k, {})
        if p.get("status") != "ok":
            cells.append(f"{PEER_NAMES[k]} n/a")
        elif p["section"].startswith("merge"):
            cells.append(f"{PEER_NAMES[k]} {fmt_time(p['median_s'])}")
        else:
            cells.append(f"{PEER_NAMES[k]} {p['ratio']:.2f}" if p.get("ratio") is not None else f"{PEER_NAMES[k]} –")
    return ", ".join(cells)


def render_text_items(t):
    if not t:
        return []
    out = ["", "### Text items"]
    if t.get("status") != "ok":
        return out + ["", f"Text items: {t.get('status')}"]
    out += ["", f"{t['rows']:,} events of Zipf(s=1) over {t['words']:,} pseudo-words generated in SQL "
                f"({t['distinct']:,} distinct seen, {t['avg_letters']:.2f} letters an event), 30 days:", "",
            "| sketch | stored one pass | daily sketch, avg / max | recall@1000 one pass | recall@1000, 30 daily merged |",
            "|---|---|---|---|---|"]
    rc = lambda r: f"{r['recall_1000']}" + (f" ({r['recall_1000_ties']} with ties)" if r["recall_1000_ties"] != r["recall_1000"] else "")
    for name, r in t["sketches"].items():
        if r["status"] != "ok":
            out.append(f"| {name} | {r['status']} | | | |")
            continue
        out.append(f"| {name} | {fmt_bytes(r['one pass bytes'])} | {fmt_bytes(r['daily avg bytes'])} / {fmt_bytes(r['daily max bytes'])} "
                   f"| {rc(r['one pass'])} | {rc(r['merged'])} |")
    return out


def render(result):
    m = result["meta"]
    out = []
    mach = m["machine"]
    out.append(f"topk_pg SQL benchmark — {m['started']} — {m['rows']:,} rows, {m['items']:,} products, "
               f"{m['days']} days, seed {m['seed']}, {m['reps']} repetition{'s' if m['reps'] != 1 else ''} after a warm-up"
               f"{' (smoke)' if m['smoke'] else ''}")
    out.append(f"machine: {mach['nproc']} cores, {mach['mem_gib']} GiB, {mach['cpu']}; PostgreSQL {m['server_version']}; "
               f"topk_pg {m['topk_pg_version']} (git {m['git']['commit']}{', dirty tree' if m['git']['dirty'] else ''}); "
               f"Citus hll {m['citus_hll_version'] or 'n/a'}, TopN {m.get('topn_version') or 'n/a'}, "
               f"DataSketches {m.get('datasketches_version') or 'n/a'}; load average at start {mach['load_average_start'][0]:.2f}")
    out.append("settings: " + ", ".join(f"{k}={v}" for k, v in m["settings"].items()))
    for skew, run in result["runs"].items():
        name = SKEWS[skew]["name"]
        ld, ds = run["load"], run["dataset"]
        out.append("")
        out.append(f"### Zipf s={skew} ({name}), {run['rows']:,} rows")
        out.append("")
        out.append(f"Load: COPY {fmt_time(ld['copy_s'])}, VACUUM ANALYZE {fmt_time(ld['vacuum_analyze_s'])}, "
                   f"table {ld['table_bytes'] / 2**20:.0f} MB. Data: {ds['distinct_products']:,} distinct products, "
                   f"{ds['distinct_users']:,} distinct users, top 100 hold {ds['top100_share'] * 100:.1f}% of events, "
                   f"#100 has {ds['count_100']} and #101 has {ds['count_101']} events."
                   + (f" Reference data set check: {run['reference_dataset_check']}." if "reference_dataset_check" in run else ""))
        out.append("")
        out.append("| figure | median | min–max | ratio to count(*) | goal | peers in this run |")
        out.append("|---|---|---|---|---|---|")
        section = None
        for key, r in run["figures"].items():
            if r["section"] != section:
                section = r["section"]
                out.append(f"| **{section}** | | | | | |")
            if r["status"] != "ok":
                out.append(f"| {r['label']} | {r['status']} | | | {r['goal'] or ''} | {r['peer'] or ''} |")
                continue
            ratio = "–" if r["ratio"] is None else f"{r['ratio']:.2f}"
            per = f" ({fmt_time(r['per_input_s'])} per input)" if r.get("per_input_s") else ""
            out.append(f"| {r['label']} | {fmt_time(r['median_s'])}{per} | {fmt_time(r['min_s'])} – {fmt_time(r['max_s'])} "
                       f"| {ratio} | {r['goal'] or ''} | {r['peer'] or ''} |")
        out.append("")
        out.append("Accuracy against the exact answer (recall@K = how many of the exact top-K ids are in the sketch's top K; "
                   "count error = (reported − exact) / exact over the reported top 100):")
        out.append("")
        out.append("| sketch | recall@100 | recall@1000 | count error: median / max abs | items returned |")
        out.append("|---|---|---|---|---|")
        for name_, a in run["accuracy"].items():
            if "recall_100" not in a and not name_.startswith(("topk", "heavy", "TopN", "DataSketches one", "DataSketches 30")):
                continue
            if a["status"] != "ok":
                out.append(f"| {name_} | {a['status']} | | | |")
                continue
            rc = lambda k: (f"{a[f'recall_{k}']}" + (f" ({a[f'recall_{k}_ties']} with ties)"
                                                       if a[f"recall_{k}_ties"] != a[f"recall_{k}"] else ""))
            out.append(f"| {name_} | {rc(100)} | {rc(1000)} | "
                       f"{fmt_pct(a['count_rel_err_median_top100'])} / {fmt_pct(a['count_rel_err_max_abs_top100'], False)} | "
                       f"{a['returned']} |")
        out.append("")
        out.append("| distinct count / frequency sketch | estimate | error |")
        out.append("|---|---|---|")
        for name_, a in run["accuracy"].items():
            if name_.startswith(("hll", "Citus", "DataSketches hll")):
                if a["status"] != "ok":
                    out.append(f"| {name_} ({ds['distinct_users']:,} exact) | {a['status']} | |")
                else:
                    out.append(f"| {name_} ({ds['distinct_users']:,} exact) | {round(a['estimate']):,} | {fmt_pct(a['rel_err'])} |")
            elif name_.startswith("cms"):
                if a["status"] != "ok":
                    out.append(f"| {name_} | {a['status']} | |")
                else:
                    out.append(f"| {name_}: overestimate max / mean | {a['max_err']:,} / {a['mean_err']:.1f} events "
                               f"(bound {a['error_bound']:,}) | max {fmt_pct(a['max_rel_err'])}, mean "
                               f"{fmt_pct(a['mean_rel_err'])} of the true count |")
        out.append("")
        out.append("| stored size (pg_column_size) | one pass | daily sketch, avg / max |")
        out.append("|---|---|---|")
        names = {"hll": "`hll_agg` (precision 14)", "cms": "`cms_agg`", "topk": "`topk_agg`", "topk9kb": f"`topk_agg(…, {CAP_9KB})`",
                 "hh": "`heavy_hitters_agg`", "topn": "TopN `topn_add_agg` (1,000 counters)",
                 "dsfi": "DataSketches `frequent_strings_sketch` (lg_k 11)", "dshll": "DataSketches `hll_sketch` (lg_k 14)"}
        for c, s in run["sizes"].items():
            daily = f"{fmt_bytes(s['daily avg'])} / {fmt_bytes(s['daily max'])}" if "daily avg" in s else "–"
            out.append(f"| {names.get(c, c)} | {fmt_bytes(s['one pass'])} | {daily} |")
        out.extend(render_pipeline(run["pipeline"]))
    out.extend(render_text_items(result.get("text_items")))
    out.append("")
    out.append("Ratios are medians over the median of `count(*)` in the same run; the peers' figures were timed in the "
               "same repetitions, in turn with ours (n/a: the peer is not installed, see scripts/peers.sh).")
    if result.get("errors"):
        out.append("")
        out.append(f"**{len(result['errors'])} error(s)**: " + "; ".join(result["errors"]))
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="topk_pg SQL benchmark (run it with scripts/bench.sh)")
    ap.add_argument("--rows", type=int, default=None, help="events per data set (default 10,000,000; --smoke 100,000)")
    ap.add_argument("--items", type=int, default=1_000_000, help="distinct products of the generator (default 1M)")
    ap.add_argument("--skew", choices=["1.1", "0.8", "both"], default=None, help="Zipf s (default both; --smoke 1.1)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions after the warm-up (default 3; --smoke 1)")
    ap.add_argument("--out", default="/tmp/topk_pg_bench.json", help="JSON output (Markdown beside it, .md)")
    ap.add_argument("--smoke", action="store_true",
                    help="100k rows, s=1.1, 1 repetition, pgbench 2 s, pipeline on 2 days and 500 INSERTs")
    ap.add_argument("--pgbench-seconds", type=int, default=None, help="pgbench -T (default 10; --smoke 2)")
    ap.add_argument("--inserts", type=int, default=None,
                    help=f"single-row INSERTs of the pipeline figure (default {INSERTS:,}; --smoke 500)")
    ap.add_argument("--pipeline-days", type=int, default=None,
                    help=f"pipeline figures on the events of the first N days only (default all {DAYS}; --smoke 2)")
    ap.add_argument("--gen", default=os.environ.get("TOPK_BENCH_GEN", str(DEFAULT_GEN)), help=argparse.SUPPRESS)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every timing as it is taken")
    a = ap.parse_args(argv)
    a.rows = a.rows or (100_000 if a.smoke else 10_000_000)
    a.reps = a.reps or (1 if a.smoke else 3)
    a.pgbench_seconds = a.pgbench_seconds or (2 if a.smoke else 10)
    a.inserts = a.inserts or (500 if a.smoke else INSERTS)
    a.pipeline_days = a.pipeline_days or (2 if a.smoke else None)
    skew = a.skew or ("1.1" if a.smoke else "both")
    a.skews = ["1.1", "0.8"] if skew == "both" else [skew]
    if a.rows <= 0 or a.reps <= 0 or a.items <= 0 or a.inserts <= 0 or (a.pipeline_days or 1) <= 0:
        ap.error("--rows, --items, --reps, --inserts and --pipeline-days must be positive")
    a.gen = Path(a.gen)
    if not a.gen.is_file():
        print(f"run.py: the event generator is missing: {a.gen.resolve()}\n"
              "  (it lives in ../shared/data/gen_events.py beside the repository and is never copied into it)",
              file=sys.stderr)
        return 2
    if not os.environ.get("PGHOST"):
        print("run.py: no PGHOST: run it through scripts/bench.sh (which starts the benchmark cluster)", file=sys.stderr)
        return 2
    return Bench(a).run()


if __name__ == "__main__":
    sys.exit(main())
