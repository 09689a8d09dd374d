package activities

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// maxRows is how many result rows a sql step keeps in its output.
const maxRows = 100

// sqlConnectTimeout bounds opening a connection.
const sqlConnectTimeout = 10 * time.Second

// connect opens a PostgreSQL connection to a DSN whose secrets are resolved
// here; errors never carry the DSN's password.
func (a *Activities) connect(ctx context.Context, sec *secrets, dsn string) (*pgx.Conn, error) {
	resolved, err := sec.resolve(dsn)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	cfg, err := pgx.ParseConfig(resolved)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("dsn %s: %v", RedactDSN(dsn), sec.scrub(err.Error())), "BadStep", nil)
	}
	if cfg.Password != "" {
		sec.resolved = append(sec.resolved, cfg.Password)
	}
	cfg.ConnectTimeout = sqlConnectTimeout
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %s", RedactDSN(dsn), sec.scrub(err.Error()))
	}
	return conn, nil
}

var dsnPasswordRE = regexp.MustCompile(`(://[^:/@]*:)([^@]*)(@)|(password=)(\S+)`)

// RedactDSN hides a literal password in a DSN (URL or key=value form).
func RedactDSN(dsn string) string {
	return dsnPasswordRE.ReplaceAllStringFunc(dsn, func(m string) string {
		s := dsnPasswordRE.FindStringSubmatch(m)
		if s[1] != "" {
			if strings.HasPrefix(s[2], "${") {
				return m
			}
			return s[1] + "***" + s[3]
		}
		if strings.HasPrefix(s[5], "${") {
			return m
		}
		return s[4] + "***"
	})
}

// result is what a query returned: up to maxRows rows, the columns in
// order, and the command tag.
type result struct {
	rows    []map[string]any
	columns []string
	tag     string
}

// first is the first column of the first row, as text ("" when none).
func (r result) first() string {
	if len(r.rows) == 0 || len(r.columns) == 0 {
		return ""
	}
	return fmt.Sprint(r.rows[0][r.columns[0]])
}

// query runs one statement (or several, in the simple protocol).
func query(ctx context.Context, conn *pgx.Conn, sql string, args ...any) (result, error) {
	mode := pgx.QueryExecModeSimpleProtocol
	rows, err := conn.Query(ctx, sql, append([]any{mode}, args...)...)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var out []map[string]any
	fields := rows.FieldDescriptions()
	columns := make([]string, len(fields))
	for i, f := range fields {
		columns[i] = f.Name
	}
	for rows.Next() {
		if len(out) >= maxRows {
			continue
		}
		vals, err := rows.Values()
		if err != nil {
			return result{}, err
		}
		row := make(map[string]any, len(vals))
		for i, v := range vals {
			row[string(fields[i].Name)] = jsonable(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	return result{rows: out, columns: columns, tag: rows.CommandTag().String()}, nil
}

// jsonable turns a database value into something a JSON output can hold.
func jsonable(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case nil, string, bool, int16, int32, int64, float32, float64:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// RunSQL executes a sql step: a statement or query against a DSN, with the
// rows as output. ActionAt is the instant the statement was sent.
func (a *Activities) RunSQL(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.SQL
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no sql spec", "BadStep", nil)
	}
	res := &steps.Result{StartedAt: a.now()}
	sec := a.secrets()
	conn, err := a.connect(ctx, sec, spec.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	args := make([]any, len(spec.Args))
	for i, arg := range spec.Args {
		if args[i], err = sec.resolve(arg); err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
	}
	stop := a.markSent(ctx, res)
	r, err := query(ctx, conn, spec.Query, args...)
	stop()
	res.EndedAt = a.now()
	if err != nil {
		return nil, fmt.Errorf("sql on %s: %s", RedactDSN(spec.DSN), sec.scrub(err.Error()))
	}
	res.Output = map[string]any{"rows": sec.scrubValue(rowsAny(r.rows)), "rowCount": len(r.rows), "command": r.tag}
	return res, nil
}

func rowsAny(rows []map[string]any) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

// sqlCheck runs a check query; with Expect set, the first column of the
// first row must equal it as text.
func (a *Activities) sqlCheck(ctx context.Context, sec *secrets, c playbooks.SQLCheck) (map[string]any, error) {
	conn, err := a.connect(ctx, sec, c.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	r, err := query(ctx, conn, c.Query)
	if err != nil {
		return nil, fmt.Errorf("sql on %s: %s", RedactDSN(c.DSN), sec.scrub(err.Error()))
	}
	out := map[string]any{"rowCount": len(r.rows)}
	if c.Expect == "" {
		return out, nil
	}
	got := r.first()
	out["value"] = got
	if got != c.Expect {
		return out, unexpectedf("sql on %s: got %q, expected %q", RedactDSN(c.DSN), got, c.Expect)
	}
	return out, nil
}

// canaryTable is where SQL canaries are written unless the playbook names
// another table.
const canaryTable = "drillctl_heartbeat"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func canaryTableOf(c *playbooks.CanarySQL) (string, error) {
	t := c.Table
	if t == "" {
		t = canaryTable
	}
	if !identRE.MatchString(t) {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("canary table %q: expected a table name", t), "BadStep", nil)
	}
	return t, nil
}

// writeSQLCanaries inserts a marker row with its instant into the heartbeat
// table on the primary every interval until cancelled. Failed writes (the
// primary fenced) are counted, and the writer reconnects.
func (a *Activities) writeSQLCanaries(ctx context.Context, in steps.Input, c *playbooks.CanarySQL, interval time.Duration) (*steps.Result, error) {
	table, err := canaryTableOf(c)
	if err != nil {
		return nil, err
	}
	sec := a.secrets()
	conn, err := a.connect(ctx, sec, c.Primary)
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (id text PRIMARY KEY, drill_id text NOT NULL, written_at timestamptz NOT NULL)")
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create %s on the primary: %s", table, sec.scrub(err.Error()))
	}
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	return a.canaryLoop(ctx, sec, interval, func(seq int, at time.Time) error {
		if conn == nil {
			if conn, err = a.connect(ctx, sec, c.Primary); err != nil {
				return err
			}
		}
		_, err := conn.Exec(ctx, "INSERT INTO "+table+" (id, drill_id, written_at) VALUES ($1, $2, $3)",
			fmt.Sprintf("%s-%06d", in.DrillID, seq), in.DrillID, at)
		if err != nil && conn.IsClosed() {
			conn = nil // reconnect on the next write
		}
		return err
	})
}

// verifySQLCanaries reads the newest marker of this drill written before
// the outage that the standby holds.
func (a *Activities) verifySQLCanaries(ctx context.Context, in steps.Input, c *playbooks.CanarySQL, interval time.Duration) (*steps.Result, error) {
	table, err := canaryTableOf(c)
	if err != nil {
		return nil, err
	}
	sec := a.secrets()
	res := &steps.Result{StartedAt: a.now(), ResolutionSeconds: interval.Seconds()}
	conn, err := a.connect(ctx, sec, c.Standby)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	before := time.Now().Add(time.Hour)
	if in.OutageStartAt != nil {
		before = *in.OutageStartAt
	}
	var id string
	var at time.Time
	err = conn.QueryRow(ctx, "SELECT id, written_at FROM "+table+" WHERE drill_id = $1 AND written_at < $2 ORDER BY written_at DESC LIMIT 1",
		in.DrillID, before).Scan(&id, &at)
	res.EndedAt = a.now()
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, temporal.NewNonRetryableApplicationError("no canary row of this drill survived on the standby: every write made before the outage was lost", "NoCanary", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read canaries on the standby: %s", sec.scrub(err.Error()))
	}
	at = at.UTC()
	res.NewestSurvivingAt = &at
	res.Output = map[string]any{"newestCanaryId": id, "newestCanaryAt": at.Format(time.RFC3339Nano)}
	return res, nil
}

// Queries that describe a PostgreSQL server's permissions: roles with their
// attributes, and table privileges of non-system roles.
const (
	rolesQuery = `SELECT rolname, concat_ws(',', CASE WHEN rolsuper THEN 'superuser' END, CASE WHEN rolcanlogin THEN 'login' END,
	  CASE WHEN rolcreaterole THEN 'createrole' END, CASE WHEN rolcreatedb THEN 'createdb' END, CASE WHEN rolreplication THEN 'replication' END)
	  FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1`
	grantsQuery = `SELECT table_schema || '.' || table_name, grantee, privilege_type FROM information_schema.role_table_grants
	  WHERE grantee <> 'PUBLIC' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3`
)

// sqlGrants lists a server's roles and table privileges as grants.
func (a *Activities) sqlGrants(ctx context.Context, sec *secrets, dsn string) ([]Grant, error) {
	conn, err := a.connect(ctx, sec, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var out []Grant
	for _, q := range []struct {
		sql  string
		role bool
	}{{rolesQuery, true}, {grantsQuery, false}} {
		rows, err := conn.Query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("read permissions on %s: %s", RedactDSN(dsn), sec.scrub(err.Error()))
		}
		for rows.Next() {
			var g Grant
			if q.role {
				g.Group = "roles"
				err = rows.Scan(&g.Subject, &g.Permission)
			} else {
				err = rows.Scan(&g.Group, &g.Subject, &g.Permission)
			}
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compareSQLRecords compares named tables on both servers: rows created
// before the outage and the newest such row. The newest on the standby is
// the newest surviving write.
func (a *Activities) compareSQLRecords(ctx context.Context, sec *secrets, in steps.Input, res *steps.Result) error {
	spec := in.Step.ReplicationCheck.SQL
	col := spec.TimeColumn
	if col == "" {
		col = "created_at"
	}
	if !identRE.MatchString(col) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("timeColumn %q: expected a column name", col), "BadStep", nil)
	}
	before := time.Now().Add(time.Hour)
	if in.OutageStartAt != nil {
		before = *in.OutageStartAt
	}
	out := map[string]any{}
	res.Output = out
	var newest *time.Time
	missingTotal := 0
	for _, table := range spec.Tables {
		if !identRE.MatchString(table) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("table %q: expected a table name", table), "BadStep", nil)
		}
		q := fmt.Sprintf("SELECT count(*), max(%s) FROM %s WHERE %s < $1", col, table, col)
		var counts [2]int64
		var maxes [2]*time.Time
		for i, dsn := range []string{spec.Primary, spec.Standby} {
			conn, err := a.connect(ctx, sec, dsn)
			if err != nil {
				return err
			}
			err = conn.QueryRow(ctx, q, before).Scan(&counts[i], &maxes[i])
			conn.Close(context.WithoutCancel(ctx))
			if err != nil {
				return fmt.Errorf("%s on %s: %s", table, RedactDSN(dsn), sec.scrub(err.Error()))
			}
		}
		t := map[string]any{"primaryRows": counts[0], "standbyRows": counts[1], "missingOnStandby": max(counts[0]-counts[1], 0)}
		if maxes[0] != nil {
			t["primaryNewestAt"] = maxes[0].UTC().Format(time.RFC3339Nano)
		}
		if maxes[1] != nil {
			t["standbyNewestAt"] = maxes[1].UTC().Format(time.RFC3339Nano)
			if newest == nil || maxes[1].Before(*newest) {
				at := maxes[1].UTC()
				newest = &at
			}
		}
		missingTotal += int(max(counts[0]-counts[1], 0))
		out[table] = t
	}
	if in.OutageStartAt != nil {
		res.NewestSurvivingAt = newest
	}
	out["missingOnStandby"] = missingTotal
	if tol := in.Step.ReplicationCheck.Tolerance; tol != nil && missingTotal > tol.MaxMissing {
		return fmt.Errorf("%d rows written before the outage are missing on the standby (%d allowed)", missingTotal, tol.MaxMissing)
	}
	return nil
}
