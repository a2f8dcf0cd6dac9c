package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/linkvault/linkvault/internal/sqlstore"
)

// TraceEngine wraps a database engine so that every statement is a client span named
// after its operation and table ("SELECT connections"), with the statement text (its
// placeholders, never its arguments) and the database system. Transactions are a span
// of their own, parent of their statements. Errors mark the span failed with the
// error's type only.
func TraceEngine(tp trace.TracerProvider, e sqlstore.Engine) sqlstore.Engine {
	system := e.Name()
	if system == "postgres" {
		system = "postgresql"
	}
	return &tracedEngine{Engine: e, tracer: tp.Tracer(ScopeName), system: attribute.String("db.system.name", system)}
}

type tracedEngine struct {
	sqlstore.Engine
	tracer trace.Tracer
	system attribute.KeyValue
}

func (e *tracedEngine) Read() sqlstore.Querier  { return &tracedQuerier{q: e.Engine.Read(), e: e} }
func (e *tracedEngine) Write() sqlstore.Querier { return &tracedQuerier{q: e.Engine.Write(), e: e} }

func (e *tracedEngine) InTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	ctx, span := e.tracer.Start(ctx, "transaction", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(e.system))
	defer span.End()
	err := e.Engine.InTx(ctx, func(tx sqlstore.Querier) error { return fn(&tracedQuerier{q: tx, e: e}) })
	fail(span, err)
	return err
}

func (e *tracedEngine) Lock(ctx context.Context, tx sqlstore.Querier, key string) error {
	if t, ok := tx.(*tracedQuerier); ok {
		tx = t.q
	}
	return e.Engine.Lock(ctx, tx, key)
}

func (e *tracedEngine) start(ctx context.Context, query string) (context.Context, trace.Span) {
	return e.tracer.Start(ctx, SpanName(query), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(e.system, attribute.String("db.query.text", strings.TrimSpace(query))))
}

type tracedQuerier struct {
	q sqlstore.Querier
	e *tracedEngine
}

func (t *tracedQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, span := t.e.start(ctx, query)
	defer span.End()
	n, err := t.q.Exec(ctx, query, args...)
	fail(span, err)
	return n, err
}

func (t *tracedQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, span := t.e.start(ctx, query)
	rows, err := t.q.Query(ctx, query, args...)
	if err != nil {
		fail(span, err)
		span.End()
		return nil, err
	}
	return &tracedRows{Rows: rows, span: span}, nil
}

func (t *tracedQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx, span := t.e.start(ctx, query)
	return &tracedRow{row: t.q.QueryRow(ctx, query, args...), span: span}
}

type tracedRow struct {
	row  sqlstore.Row
	span trace.Span
}

func (r *tracedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if err != nil && !isNoRows(err) {
		fail(r.span, err)
	}
	r.span.End()
	return err
}

type tracedRows struct {
	sqlstore.Rows
	span trace.Span
}

func (r *tracedRows) Close() error {
	err := r.Rows.Close()
	fail(r.span, r.Rows.Err())
	r.span.End()
	return err
}

// SpanName is "<OPERATION> <table>" of a statement ("SELECT connections"), or the
// operation alone when no table name follows it.
func SpanName(query string) string {
	fields := strings.Fields(query)
	if len(fields) == 0 {
		return "db"
	}
	op := strings.ToUpper(fields[0])
	if op == "WITH" { // a CTE: named by the statement after it
		for _, f := range fields[1:] {
			if u := strings.ToUpper(f); u == "SELECT" || u == "INSERT" || u == "UPDATE" || u == "DELETE" {
				op = u
				break
			}
		}
	}
	after := map[string]string{"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE"}[op]
	if after == "" {
		return op
	}
	for i := 0; i+1 < len(fields); i++ {
		if strings.EqualFold(fields[i], after) {
			if table := strings.Trim(fields[i+1], "\",;"); table != "" && !strings.HasPrefix(table, "(") {
				return op + " " + table
			}
		}
	}
	return op
}
