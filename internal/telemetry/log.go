package telemetry

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
)

type requestKey struct{}

// RequestState is what a server keeps in a request's context: LogHandler adds its
// RequestID to every log line written with the context. A server may keep more of the
// request in the same value (internal/http keeps the authenticated caller there), so
// that a request needs one context value, and one copy of the request, for all of it.
type RequestState interface{ RequestID() string }

type requestID string

func (id requestID) RequestID() string { return string(id) }

// WithRequestID returns ctx carrying the request id that LogHandler adds to every log
// line written with it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return WithRequestState(ctx, requestID(id))
}

// WithRequestState returns ctx carrying st (see RequestState).
func WithRequestState(ctx context.Context, st RequestState) context.Context {
	return context.WithValue(ctx, requestKey{}, st)
}

// RequestStateOf is the RequestState ctx carries, or nil.
func RequestStateOf(ctx context.Context) RequestState {
	st, _ := ctx.Value(requestKey{}).(RequestState)
	return st
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if st := RequestStateOf(ctx); st != nil {
		return st.RequestID()
	}
	return ""
}

// LogHandler adds to each record logged with a context (InfoContext...) the request id
// (request_id) and, when a span is recording, its trace_id and span_id, so that the
// lines of one request can be found together and next to its trace.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}
func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

// DurationsInMS is a slog.HandlerOptions.ReplaceAttr that writes every time.Duration
// as a number of milliseconds (float, microsecond precision) under its key with "_ms"
// appended: "lease=1m0s" and JSON's 60000000000 both become lease_ms=60000.
func DurationsInMS(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	return slog.Float64(a.Key+"_ms", Milliseconds(a.Value.Duration()))
}

// Milliseconds is d in milliseconds, to the microsecond.
func Milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
