// Package telemetry is linkvault's OpenTelemetry tracing: the tracer provider the
// configuration asks for (an OTLP/HTTP exporter, off by default), and the spans around
// the calls that leave the process — database statements (an sqlstore.Engine wrapper)
// and provider HTTP calls (a RoundTripper). internal/http starts the server span of
// each request. No span attribute holds a secret, a credential, a tokenId, a request
// body or SQL arguments: only routes, statement text with placeholders, hosts, methods
// and status codes.
package telemetry

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of every linkvault span.
const ScopeName = "github.com/linkvault/linkvault"

// Enabled reports whether tracing is on: explicitly (LINKVAULT_TRACING_ENABLED, passed
// as explicit), or by the standard OpenTelemetry environment naming an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTEL_SDK_DISABLED
// =true or OTEL_TRACES_EXPORTER=none turn it off whatever else is set.
func Enabled(explicit bool, lookup func(string) (string, bool)) bool {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(get("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return explicit || get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Provider is a tracer provider and how to stop it.
type Provider struct {
	trace.TracerProvider
	// Shutdown flushes the spans still buffered and stops the exporter.
	Shutdown func(ctx context.Context) error
}

// Noop is the provider when tracing is off: spans cost nothing and go nowhere.
func Noop() Provider {
	return Provider{TracerProvider: noop.NewTracerProvider(), Shutdown: func(context.Context) error { return nil }}
}

// NewOTLP exports spans over OTLP/HTTP, configured by the standard OTEL_EXPORTER_OTLP_*
// variables (endpoint, headers, TLS, timeout, compression), with the service named
// "linkvault" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise, and
// sampled per OTEL_TRACES_SAMPLER (default: parent-based, always on).
func NewOTLP(ctx context.Context, version string) (Provider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return Provider{}, errors.Join(errors.New("tracing: OTLP exporter"), err)
	}
	// The SDK's defaults, then linkvault's name and version, then what the environment
	// says (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), each winning over the one before.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("linkvault"), semconv.ServiceVersion(version)))
	if err != nil {
		return Provider{}, err
	}
	if fromEnv, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, fromEnv); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return Provider{TracerProvider: tp, Shutdown: tp.Shutdown}, nil
}
