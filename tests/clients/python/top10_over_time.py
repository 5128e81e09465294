#!/usr/bin/env python3
# %% [markdown]
# # The top 10 products over time, from a topk_pg dashboard view
#
# A notebook-style script (the `# %%` cells open as a notebook in Jupyter or VS Code):
# it reads `sales.top_1000`, the view the pipeline keeps for every window, into rows
# with psycopg, and plots the daily counts of the 10 products that sold most over the
# whole range. Needs `pip install "psycopg[binary]" matplotlib`.
#
#     python3 top10_over_time.py [--out top10.png] [--pipeline sales] [--granularity day] [CONNINFO]
#
# CONNINFO is a libpq connection string (default: the PG* environment variables), e.g.
# "host=127.0.0.1 port=5432 dbname=shop user=dashboard": the read-only role is enough.
# The tests run it against the client fixture (tests/clients/run.sh python).

# %%
import argparse
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed: we write a PNG
import matplotlib.pyplot as plt
import psycopg
from psycopg import sql

parser = argparse.ArgumentParser(description="Plot the top 10 items over time from a topk_pg pipeline.")
parser.add_argument("conninfo", nargs="?", default="")
parser.add_argument("--pipeline", default="sales")
parser.add_argument("--view", default="top_1000")
parser.add_argument("--granularity", default="day", choices=["hour", "day", "week", "month", "year"])
parser.add_argument("--top", type=int, default=10)
parser.add_argument("--out", default="top10.png")
args = parser.parse_args()

# %% [markdown]
# ## Read the view into rows
#
# One query: the `--top` items with the most events over all windows of the
# granularity, then every window's count of those items. `source` says whether the
# window is final (`batch`: exact) or still estimated by the speed path (`speed`).

# %%
view = sql.Identifier(args.pipeline, args.view)
query = sql.SQL("""
    WITH leaders AS (
        SELECT item FROM {view}
        WHERE granularity = %(g)s
        GROUP BY item ORDER BY sum(count) DESC, item LIMIT %(top)s
    )
    SELECT t.window_start, t.item, t.count, t.source
    FROM {view} t JOIN leaders USING (item)
    WHERE t.granularity = %(g)s
    ORDER BY t.window_start, t.item
""").format(view=view)

with psycopg.connect(args.conninfo) as conn:
    rows = conn.execute(query, {"g": args.granularity, "top": args.top}).fetchall()

print(f"{len(rows)} rows from {args.pipeline}.{args.view} ({args.granularity})")
if not rows:
    sys.exit(f"no rows in {args.pipeline}.{args.view} for granularity {args.granularity}")

# %% [markdown]
# ## One line per item
#
# A window in which an item is not in the list counts as 0 for it. Windows the speed
# path still estimates are drawn with hollow markers.

# %%
windows = sorted({r[0] for r in rows})
items = sorted({r[1] for r in rows}, key=lambda i: -sum(r[2] for r in rows if r[1] == i))
counts = {(r[0], r[1]): r[2] for r in rows}
estimated = {r[0] for r in rows if r[3] == "speed"}

fig, ax = plt.subplots(figsize=(10, 5.5), dpi=100)
for item in items:
    ys = [counts.get((w, item), 0) for w in windows]
    line, = ax.plot(windows, ys, marker="o", label=str(item))
    for w, y in zip(windows, ys):
        if w in estimated:
            ax.plot([w], [y], marker="o", markerfacecolor="white", color=line.get_color())
ax.set_title(f"Top {len(items)} by {args.granularity}: {args.pipeline}.{args.view}")
ax.set_xlabel(f"{args.granularity} (UTC); hollow markers: estimated by the speed path")
ax.set_ylabel("count")
ax.legend(title="item", ncol=2, fontsize="small")
ax.grid(alpha=0.3)
fig.autofmt_xdate()
fig.tight_layout()
fig.savefig(args.out)
print(f"wrote {args.out}: {len(items)} items over {len(windows)} windows")
