// What a BI tool sees over JDBC: the PostgreSQL JDBC driver (Debian's
// libpostgresql-jdbc-java), connected as the read-only role `dashboard` to a database
// loaded with tests/clients/fixture.sql. Every check runs in three driver modes:
//   default                     (server-side prepared statements after 5 executions)
//   prepareThreshold=0          (never server-prepared: what PgBouncer in transaction mode needs)
//   prepareThreshold=-1         (server-prepared from the first execution, binary transfer
//   &binaryTransfer=true         of results: timestamps and numbers arrive in binary)
// and the three must return the same rows.
//
//   java -cp .:/usr/share/java/postgresql.jar TopkJdbcTest 'jdbc:postgresql://127.0.0.1:PORT/DB?user=dashboard'
//
// Prints one line per check and closes with 'jdbc: N passed, N failed'; exits 1 on any failure.

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

public class TopkJdbcTest {
    static int passed = 0, failed = 0;
    static String mode = "";

    interface Check { void run() throws Exception; }

    static void check(String name, Check c) {
        try {
            c.run();
            passed++;
            System.out.println("ok     [" + mode + "] " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAILED [" + mode + "] " + name + ": " + t);
        }
    }

    static void expect(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static void expectEq(Object expected, Object actual, String what) {
        if (expected == null ? actual != null : !expected.equals(actual))
            throw new AssertionError(what + ": expected <" + expected + "> but got <" + actual + ">");
    }

    // The java.sql.Types a BI tool that knows only standard SQL maps without a plugin.
    static final Set<Integer> STANDARD = Set.of(Types.BIGINT, Types.INTEGER, Types.SMALLINT,
        Types.VARCHAR, Types.CHAR, Types.LONGVARCHAR, Types.NUMERIC, Types.DECIMAL, Types.DOUBLE,
        Types.REAL, Types.FLOAT, Types.BIT, Types.BOOLEAN, Types.DATE, Types.TIMESTAMP,
        Types.TIMESTAMP_WITH_TIMEZONE);

    /** Every column of the result has a standard type and every value a java.* class. */
    static int expectStandard(ResultSet rs, String what) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            expect(STANDARD.contains(md.getColumnType(i)), what + ": column " + md.getColumnName(i)
                + " has JDBC type " + md.getColumnType(i) + " (" + md.getColumnTypeName(i) + ", "
                + md.getColumnClassName(i) + "), not a standard SQL type");
            expect(md.getColumnClassName(i).startsWith("java."), what + ": column " + md.getColumnName(i)
                + " maps to " + md.getColumnClassName(i));
        }
        int rows = 0;
        while (rs.next()) {
            rows++;
            for (int i = 1; i <= md.getColumnCount(); i++) {
                Object v = rs.getObject(i);
                expect(v == null || v.getClass().getName().startsWith("java."),
                    what + ": value of " + md.getColumnName(i) + " is a " + v.getClass().getName());
                rs.getString(i);   // what a tool that reads everything as text does
            }
        }
        return rows;
    }

    static String rows(ResultSet rs) throws SQLException {
        StringBuilder sb = new StringBuilder();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            for (int i = 1; i <= n; i++) sb.append(i > 1 ? "|" : "").append(rs.getObject(i));
            sb.append('\n');
        }
        return sb.toString();
    }

    static final OffsetDateTime JAN2 = OffsetDateTime.of(2024, 1, 2, 0, 0, 0, 0, ZoneOffset.UTC);
    static final OffsetDateTime JAN5 = OffsetDateTime.of(2024, 1, 5, 0, 0, 0, 0, ZoneOffset.UTC);

    static Map<String, String> runMode(String url) throws Exception {
        Map<String, String> results = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(url)) {
            check("connects as the read-only role", () -> {
                try (Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT current_user, current_setting('transaction_read_only')")) {
                    rs.next();
                    expectEq("dashboard", rs.getString(1), "current_user");
                    expectEq("on", rs.getString(2), "transaction_read_only");
                }
            });

            check("cannot write, even after turning read-only off", () -> {
                try (Statement s = c.createStatement()) {
                    try {
                        s.execute("CREATE TEMP TABLE scratch (x int)");
                        throw new AssertionError("CREATE TEMP TABLE succeeded");
                    } catch (SQLException e) {
                        expectEq("25006", e.getSQLState(), "SQLSTATE of a write in a read-only transaction");
                    }
                    s.execute("SET default_transaction_read_only = off");
                    try {
                        s.executeUpdate("DELETE FROM sales.top_lists");
                        throw new AssertionError("DELETE succeeded");
                    } catch (SQLException e) {
                        expectEq("42501", e.getSQLState(), "SQLSTATE of a write without the privilege");
                    } finally {
                        s.execute("RESET default_transaction_read_only");
                    }
                }
            });

            check("results arrive in the transfer format of the mode", () -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT window_start, count FROM sales.top_1000 WHERE granularity = ? LIMIT 1")) {
                    ps.setString(1, "day");
                    try (ResultSet rs = ps.executeQuery()) {
                        int format = rs.getMetaData().unwrap(org.postgresql.PGResultSetMetaData.class).getFormat(1);
                        expectEq(mode.equals("binary") ? 1 : 0, format, "format of window_start (0 text, 1 binary)");
                    }
                }
            });

            check("DatabaseMetaData lists the dashboard views with standard column types", () -> {
                DatabaseMetaData md = c.getMetaData();
                for (String[] v : new String[][] {{"sales", "top_1000"}, {"sales", "distinct_counts"}, {"pages", "top_100"}}) {
                    try (ResultSet rs = md.getTables(null, v[0], v[1], null)) {
                        expect(rs.next(), v[0] + "." + v[1] + " is not listed by getTables");
                        expectEq("VIEW", rs.getString("TABLE_TYPE"), v[0] + "." + v[1] + " table type");
                    }
                    int cols = 0;
                    try (ResultSet rs = md.getColumns(null, v[0], v[1], null)) {
                        while (rs.next()) {
                            cols++;
                            expect(STANDARD.contains(rs.getInt("DATA_TYPE")), v[0] + "." + v[1] + "."
                                + rs.getString("COLUMN_NAME") + " has DATA_TYPE " + rs.getInt("DATA_TYPE")
                                + " (" + rs.getString("TYPE_NAME") + ")");
                        }
                    }
                    expect(cols > 0, v[0] + "." + v[1] + " has no columns");
                }
            });

            check("top_1000: every column a standard type, item bigint as java.lang.Long", () -> {
                try (Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT * FROM sales.top_1000 WHERE granularity = 'day' ORDER BY window_start, rank")) {
                    ResultSetMetaData md = rs.getMetaData();
                    String[] names = {"granularity", "window_start", "window_end", "rank", "item", "count", "error", "source"};
                    String[] classes = {"java.lang.String", "java.sql.Timestamp", "java.sql.Timestamp", "java.lang.Integer",
                                        "java.lang.Long", "java.lang.Long", "java.lang.Long", "java.lang.String"};
                    expectEq(names.length, md.getColumnCount(), "column count");
                    for (int i = 0; i < names.length; i++) {
                        expectEq(names[i], md.getColumnName(i + 1), "column " + (i + 1));
                        expectEq(classes[i], md.getColumnClassName(i + 1), names[i] + " class");
                    }
                    expectEq(Types.BIGINT, md.getColumnType(5), "item JDBC type");
                    expectEq(Types.TIMESTAMP, md.getColumnType(2), "window_start JDBC type");
                    expectEq("timestamptz", md.getColumnTypeName(2), "window_start type name");
                    boolean sawBatch = false, sawSpeed = false;
                    while (rs.next()) {
                        expect(rs.getObject("item") instanceof Long, "item is a " + rs.getObject("item").getClass());
                        expect(rs.getObject("count") instanceof Long, "count is not a Long");
                        expect(rs.getObject("window_start") instanceof Timestamp, "window_start is not a Timestamp");
                        OffsetDateTime odt = rs.getObject("window_start", OffsetDateTime.class);
                        expectEq(odt.toInstant(), rs.getTimestamp("window_start").toInstant(), "window_start as OffsetDateTime");
                        String src = rs.getString("source");
                        sawBatch |= src.equals("batch");
                        sawSpeed |= src.equals("speed");
                    }
                    expect(sawBatch && sawSpeed, "expected both batch and speed windows");
                }
            });

            check("top_1000 of a day: exact, ranked, the right counts", () -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT rank, item, count, error, source FROM sales.top_1000 "
                        + "WHERE granularity = ? AND window_start = ? ORDER BY rank LIMIT ?")) {
                    for (int rep = 0; rep < 6; rep++) {   // past prepareThreshold: server-prepared in default mode too
                        ps.setString(1, "day");
                        ps.setObject(2, JAN2);
                        ps.setInt(3, 10);
                        try (ResultSet rs = ps.executeQuery()) {
                            int r = 0;
                            long last = Long.MAX_VALUE;
                            while (rs.next()) {
                                r++;
                                expectEq(r, rs.getInt("rank"), "rank");
                                expectEq("batch", rs.getString("source"), "source");
                                expectEq(0L, rs.getLong("error"), "error of a batch window");
                                expect(rs.getLong("count") <= last, "counts not descending");
                                last = rs.getLong("count");
                                if (r == 1) expectEq(2L, rs.getObject("item"), "the top product of 2024-01-02");
                            }
                            expectEq(10, r, "rows");
                        }
                    }
                    ps.setString(1, "day");
                    ps.setObject(2, JAN2);
                    ps.setInt(3, 10);
                    try (ResultSet rs = ps.executeQuery()) { results.put("top_1000 day 2024-01-02", rows(rs)); }
                }
            });

            check("top_100 of text items: item as java.lang.String", () -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT item, count FROM pages.top_100 WHERE granularity = 'week' AND window_start = ? ORDER BY rank LIMIT 3")) {
                    ps.setTimestamp(1, Timestamp.from(OffsetDateTime.of(2024, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC).toInstant()));
                    try (ResultSet rs = ps.executeQuery()) {
                        expectEq("java.lang.String", rs.getMetaData().getColumnClassName(1), "item class");
                        expectEq(Types.VARCHAR, rs.getMetaData().getColumnType(1), "item JDBC type");
                        expect(rs.next(), "no rows");
                        expectEq("/product/1", rs.getObject(1), "the top page of the week");
                        results.put("top_100 week", rs.getString(1) + "|" + rs.getLong(2));
                    }
                }
            });

            check("topk_range with PreparedStatement parameters equals the sum of its days", () -> {
                String exact;
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT item, sum(count)::bigint FROM sales.top_1000 WHERE granularity = 'day' "
                        + "AND window_start >= ? AND window_start < ? GROUP BY item ORDER BY 2 DESC, 1 LIMIT ?")) {
                    ps.setObject(1, JAN2);
                    ps.setObject(2, JAN5);
                    ps.setInt(3, 5);
                    try (ResultSet rs = ps.executeQuery()) { exact = rows(rs); }
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT * FROM sales.topk_range(?, ?, ?)")) {
                    for (int rep = 0; rep < 6; rep++) {
                        ps.setObject(1, JAN2);
                        ps.setObject(2, JAN5);
                        ps.setInt(3, 5);
                        try (ResultSet rs = ps.executeQuery()) {
                            ResultSetMetaData md = rs.getMetaData();
                            expectEq("java.lang.Long", md.getColumnClassName(2), "item class");
                            expectEq("java.lang.Boolean", md.getColumnClassName(5), "exact class");
                            StringBuilder got = new StringBuilder();
                            int r = 0;
                            while (rs.next()) {
                                r++;
                                expectEq(r, rs.getObject("rank"), "rank");
                                expectEq(Boolean.TRUE, rs.getObject("exact"), "exact (the days are final)");
                                expectEq(0L, rs.getObject("error"), "error");
                                got.append(rs.getObject("item")).append('|').append(rs.getObject("count")).append('\n');
                            }
                            expectEq(exact, got.toString(), "topk_range vs the sum of the day lists");
                        }
                    }
                    ps.setTimestamp(1, Timestamp.from(JAN2.toInstant()));
                    ps.setTimestamp(2, Timestamp.from(JAN5.toInstant()));
                    ps.setInt(3, 5);
                    try (ResultSet rs = ps.executeQuery()) {
                        String viaTimestamp = rows(rs);
                        results.put("topk_range", viaTimestamp);
                        expect(viaTimestamp.split("\n").length == 5, "setTimestamp parameters: " + viaTimestamp);
                    }
                }
            });

            check("trending with PreparedStatement parameters", () -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT * FROM sales.trending(?, ?)")) {
                    for (int rep = 0; rep < 6; rep++) {
                        ps.setString(1, "day");
                        ps.setInt(2, 5);
                        try (ResultSet rs = ps.executeQuery()) {
                            ResultSetMetaData md = rs.getMetaData();
                            String[] classes = {"java.lang.Integer", "java.lang.Long", "java.lang.Long", "java.lang.Long", "java.math.BigDecimal"};
                            for (int i = 0; i < classes.length; i++)
                                expectEq(classes[i], md.getColumnClassName(i + 1), md.getColumnName(i + 1) + " class");
                            int r = 0;
                            BigDecimal last = null;
                            while (rs.next()) {
                                r++;
                                BigDecimal g = rs.getBigDecimal("growth");
                                expect(last == null || g.compareTo(last) <= 0, "growth not descending");
                                last = g;
                                if (r == 1) expectEq(42L, rs.getObject("item"), "the trending product");
                            }
                            expectEq(5, r, "rows");
                        }
                    }
                    ps.setString(1, "day");
                    ps.setInt(2, 5);
                    try (ResultSet rs = ps.executeQuery()) { results.put("trending", rows(rs)); }
                }
            });

            check("trending rejects a bad granularity with a clear error", () -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT * FROM sales.trending(?, ?)")) {
                    ps.setString(1, "fortnight");
                    ps.setInt(2, 5);
                    try {
                        ps.executeQuery().close();
                        throw new AssertionError("no error");
                    } catch (SQLException e) {
                        expect(e.getMessage().contains("is not a granularity"), e.getMessage());
                    }
                }
            });

            check("dashboard views never return a non-standard type", () -> {
                String[] queries = {
                    "SELECT * FROM sales.top_1000",
                    "SELECT * FROM pages.top_100",
                    "SELECT * FROM sales.distinct_counts",
                    "SELECT * FROM sales.topk_range('2024-01-01', '2024-01-10', 1000)",
                    "SELECT * FROM pages.topk_range('2024-01-01', '2024-01-10', 100)",
                    "SELECT * FROM sales.trending('hour', 100)",
                    "SELECT * FROM sales.trending('week', 100)",
                };
                for (String q : queries) {
                    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(q)) {
                        expect(expectStandard(rs, q) > 0, q + ": no rows");
                    }
                }
            });

            check("distinct_counts: distinct users per day as java.lang.Long", () -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT distinct_count FROM sales.distinct_counts WHERE granularity = 'week' AND window_start = ?")) {
                    ps.setObject(1, OffsetDateTime.of(2024, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC));
                    try (ResultSet rs = ps.executeQuery()) {
                        expect(rs.next(), "no row");
                        Object v = rs.getObject(1);
                        expect(v instanceof Long, "distinct_count is a " + v.getClass());
                        long n = (Long) v;
                        expect(n > 4900 && n < 5100, "distinct users of the week: " + n + " (5000 expected within 2%)");
                        results.put("distinct_counts", String.valueOf(n));
                    }
                }
            });

            check("topk.pipeline_status is readable", () -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT * FROM topk.pipeline_status")) {
                    ResultSetMetaData md = rs.getMetaData();
                    StringBuilder nonStandard = new StringBuilder();
                    for (int i = 1; i <= md.getColumnCount(); i++)
                        if (!STANDARD.contains(md.getColumnType(i)))
                            nonStandard.append(' ').append(md.getColumnName(i)).append(':').append(md.getColumnTypeName(i));
                    if (nonStandard.length() > 0)
                        System.out.println("       note: pipeline_status columns of non-standard JDBC types:" + nonStandard);
                    while (rs.next()) rs.getString(1);
                }
            });

            // The sketches themselves: text form (kind:base64), JSON form, and back as a parameter
            // of the SQL type (the HyperLogLog type is topk_hll, its text and JSON say hll).
            String[][] sketches = {
                {"users", "topk_hll", "hll"}, {"product_counts", "cms", "cms"}, {"top_products", "spacesaving", "spacesaving"},
                {"top_pages", "spacesaving", "spacesaving"}, {"hot_products", "heavy_hitters", "heavy_hitters"}};
            for (String[] sk : sketches) {
                String col = sk[0], sqlType = sk[1], type = sk[2];
                check(sqlType + " (" + col + ") as text, as JSON, and back as a parameter", () -> {
                    String text;
                    try (Statement s = c.createStatement();
                         ResultSet rs = s.executeQuery("SELECT " + col + ", " + col + "::text, " + col + "::jsonb, "
                             + "jsonb_typeof(" + col + "::jsonb) FROM sketches")) {
                        expect(rs.next(), "no row");
                        text = rs.getString(1);
                        expect(text.startsWith(type + ":"), "text form starts with " + text.substring(0, Math.min(20, text.length())));
                        expectEq(text, rs.getString(2), "::text");
                        Object o = rs.getObject(1);
                        expect(o != null, "getObject returned null");
                        expectEq(text, o.toString(), "getObject().toString()");
                        String json = rs.getString(3);
                        expect(json.startsWith("{") && json.contains("\"type\": \"" + type + "\""), "JSON form: " + json);
                        expectEq("object", rs.getString(4), "jsonb_typeof");
                        expectEq("jsonb", rs.getMetaData().getColumnTypeName(3), "JSON column type name");
                    }
                    // The text form goes back in as a parameter (as text, cast) and compares equal.
                    try (PreparedStatement ps = c.prepareStatement(
                            "SELECT ?::" + sqlType + "::text = " + col + "::text FROM sketches")) {
                        ps.setString(1, text);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            expect(rs.getBoolean(1), "round trip through a text parameter");
                        }
                    }
                    results.put(col + " text", text);
                });
            }

            check("sketch functions with sketch and value parameters", () -> {
                String hll, ss;
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT users, top_products FROM sketches")) {
                    rs.next();
                    hll = rs.getString(1);
                    ss = rs.getString(2);
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT hll_count(?::topk_hll), topk_estimate(?::spacesaving, ?::bigint)")) {
                    ps.setString(1, hll);
                    ps.setString(2, ss);
                    ps.setLong(3, 1L);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        expect(rs.getObject(1) instanceof Long && rs.getLong(1) > 4900, "hll_count: " + rs.getObject(1));
                        expect(rs.getLong(2) > 0, "topk_estimate: " + rs.getObject(2));
                        results.put("sketch functions", rs.getLong(1) + "|" + rs.getLong(2));
                    }
                }
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT rank, item, count, error, guaranteed FROM topk_items((SELECT top_products FROM sketches), ?)")) {
                    ps.setInt(1, 3);
                    try (ResultSet rs = ps.executeQuery()) {
                        expectEq("java.lang.Long", rs.getMetaData().getColumnClassName(2), "topk_items item class");
                        expectEq("java.lang.Boolean", rs.getMetaData().getColumnClassName(5), "guaranteed class");
                        results.put("topk_items", rows(rs));
                    }
                }
            });

            check("a sketch parameter from a PreparedStatement parameter, 10 executions (server-side, then generic plans)", () -> {
                StringBuilder got = new StringBuilder();
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT (topk_agg(x, ?)::jsonb)->>'capacity', hll_count(hll_agg(x, ?)) FROM generate_series(1, 1000) x")) {
                    for (int i = 1; i <= 10; i++) {
                        ps.setInt(1, 100 + i);
                        ps.setInt(2, 10 + i % 3);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            expectEq(String.valueOf(100 + i), rs.getString(1), "capacity of execution " + i);
                            expect(Math.abs(rs.getLong(2) - 1000) < 100, "hll_count of execution " + i + ": " + rs.getLong(2));
                            got.append(rs.getString(1)).append(':').append(rs.getLong(2)).append(' ');
                        }
                    }
                }
                results.put("parameters", got.toString());
            });
        }
        return results;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: TopkJdbcTest 'jdbc:postgresql://127.0.0.1:PORT/DB?user=dashboard'");
            System.exit(2);
        }
        String base = args[0];
        String sep = base.contains("?") ? "&" : "?";
        String[][] modes = {
            {"default", ""},
            {"prepareThreshold=0", "prepareThreshold=0"},
            {"binary", "prepareThreshold=-1&binaryTransfer=true"},
        };
        List<Map<String, String>> all = new ArrayList<>();
        for (String[] m : modes) {
            mode = m[0];
            all.add(runMode(m[1].isEmpty() ? base : base + sep + m[1]));
        }
        mode = "all modes";
        check("the three driver modes return the same rows", () -> {
            for (int i = 1; i < all.size(); i++)
                for (Map.Entry<String, String> e : all.get(0).entrySet())
                    expectEq(e.getValue(), all.get(i).get(e.getKey()), e.getKey() + " in mode " + modes[i][0]);
            expect(all.get(0).size() >= 10, "too few results compared: " + all.get(0).keySet());
        });
        System.out.println("jdbc: " + passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
