package telemetry_test

import (
	"testing"

	"github.com/linkvault/linkvault/internal/telemetry"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		explicit bool
		env      map[string]string
		want     bool
	}{
		{"default off", false, nil, false},
		{"LINKVAULT_TRACING_ENABLED", true, nil, true},
		{"OTLP endpoint", false, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"OTLP traces endpoint", false, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"blank endpoint", false, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, false},
		{"SDK disabled wins", true, map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{"exporter none wins", true, map[string]string{"OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		if got := telemetry.Enabled(tc.explicit, lookup); got != tc.want {
			t.Errorf("%s: Enabled = %v, want %v", tc.name, got, tc.want)
		}
	}
}
