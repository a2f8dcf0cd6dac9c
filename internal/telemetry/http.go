package telemetry

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps base so that every request is a client span ("GET" with the server's
// host, the method and the status code; never the path, query, headers or body, which
// carry credentials and account ids). The trace context is not sent to the exchanges.
func Transport(tp trace.TracerProvider, base http.RoundTripper) http.RoundTripper {
	return &transport{base: base, tracer: tp.Tracer(ScopeName)}
}

type transport struct {
	base   http.RoundTripper
	tracer trace.Tracer
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(r.Context(), r.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("server.address", r.URL.Hostname()),
	))
	defer span.End()
	res, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		fail(span, err)
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", res.StatusCode))
	if res.StatusCode >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(res.StatusCode))
	}
	return res, nil
}

// fail marks span failed with err's type (error messages may quote data).
func fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.SetStatus(codes.Error, "")
	span.SetAttributes(attribute.String("error.type", errorType(err)))
}

func errorType(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return typeName(err)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func typeName(err error) string { return fmt.Sprintf("%T", err) }
