package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/linkvault/linkvault"
)

func TestSettingsAreUniqueAndDescribed(t *testing.T) {
	envs := make(map[string]string)
	keys := make(map[string]string)
	for _, s := range settings() {
		names := []string{s.env}
		fileKeys := []string{s.key}
		if s.fileTwin {
			names = append(names, s.env+fileTwinSuffix)
			fileKeys = append(fileKeys, s.key+fileTwinKeySuffix)
		}
		for _, n := range names {
			if prev, dup := envs[n]; dup {
				t.Errorf("variable %s used by %s and %s", n, prev, s.field)
			}
			envs[n] = s.field
		}
		for _, k := range fileKeys {
			if prev, dup := keys[k]; dup {
				t.Errorf("file key %s used by %s and %s", k, prev, s.field)
			}
			keys[k] = s.field
		}
		if !strings.HasPrefix(s.env, EnvPrefix) || strings.HasSuffix(s.env, "_") || s.env != strings.ToUpper(s.env) {
			t.Errorf("%s: malformed variable name %q", s.field, s.env)
		}
		if s.help == "" || strings.HasSuffix(s.help, ": ") {
			t.Errorf("%s has no help text", s.env)
		}
		if strings.Contains(s.key, "..") || strings.HasPrefix(s.key, ".") || strings.HasSuffix(s.key, ".") {
			t.Errorf("%s: malformed file key %q (missing json tag?)", s.env, s.key)
		}
	}
}

// TestEverySettingParses sets each setting from text and checks the field changed,
// which proves every leaf type is supported and every index reaches its field.
func TestEverySettingParses(t *testing.T) {
	sample := func(s setting) string {
		switch {
		case s.typ == secretType:
			return "secret-sample"
		case s.typ == durationType:
			return "1234s"
		case s.typ == reflect.TypeFor[slog.Level]():
			return "error"
		case s.typ == reflect.TypeFor[Prefixes]():
			return "10.0.0.0/8"
		}
		switch s.typ.Kind() {
		case reflect.Bool:
			return "false" // every default bool is true...
		case reflect.Int, reflect.Int64:
			return "4321"
		case reflect.Float64:
			return "0.4321"
		}
		return "sample"
	}
	for _, s := range settings() {
		t.Run(s.env, func(t *testing.T) {
			c := Default()
			before := fmt.Sprintf("%#v", reflect.ValueOf(c).FieldByIndex(s.index).Interface())
			if s.typ.Kind() == reflect.Bool && !reflect.ValueOf(c).FieldByIndex(s.index).Bool() {
				if err := s.set(&c, "true"); err != nil {
					t.Fatal(err)
				}
			} else if err := s.set(&c, sample(s)); err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(c).FieldByIndex(s.index)
			if s.typ == secretType {
				if v.Interface().(linkvault.Secret).Reveal() != "secret-sample" {
					t.Fatal("secret not set")
				}
				return
			}
			if after := fmt.Sprintf("%#v", v.Interface()); after == before {
				t.Fatalf("value unchanged: %s", after)
			}
		})
	}
}

// TestDocCommentsNameVariables keeps the field documentation, from which the operations
// guide is written, in step with the variables and file keys Load actually reads.
func TestDocCommentsNameVariables(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := make(map[string]string) // "Type.Field" -> doc comment
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return true
		}
		for _, field := range st.Fields.List {
			for _, name := range field.Names {
				docs[ts.Name.Name+"."+name.Name] = field.Doc.Text()
			}
		}
		return false
	})
	root := reflect.TypeFor[Config]()
	for _, s := range settings() {
		// Provider fields are documented once, with Coinbase's names.
		if strings.Contains(s.field, "Providers.") && !strings.Contains(s.field, "Providers.Coinbase.") && s.field != "Providers.AllowInsecureURLs" {
			continue
		}
		parent := root
		for _, i := range s.index[:len(s.index)-1] {
			parent = parent.Field(i).Type
		}
		name := parent.Name() + "." + parent.Field(s.index[len(s.index)-1]).Name
		doc, ok := docs[name]
		if !ok || doc == "" {
			t.Errorf("%s has no doc comment", name)
			continue
		}
		wants := []string{s.env, fmt.Sprintf("%q", s.key)}
		if s.fileTwin {
			wants = append(wants, s.env+fileTwinSuffix, fmt.Sprintf("%q", s.key+fileTwinKeySuffix))
		}
		flat := strings.Join(strings.Fields(doc), " ")
		for _, w := range wants {
			if !strings.Contains(flat, w) {
				t.Errorf("doc comment of %s does not mention %s", name, w)
			}
		}
	}
}

func TestEnvVars(t *testing.T) {
	vars := EnvVars()
	byName := make(map[string]EnvVar)
	for _, v := range vars {
		byName[v.Name] = v
	}
	if len(byName) != len(vars) {
		t.Fatal("duplicate variable names")
	}
	tests := []struct {
		name, def string
		secret    bool
	}{
		{"LINKVAULT_CONFIG", "", false},
		{"LINKVAULT_LISTEN_ADDR", "127.0.0.1:8080", false},
		{"LINKVAULT_LINK_SESSION_TTL", "10m", false},
		{"LINKVAULT_HTTP_IDLE_TIMEOUT", "2m", false},
		{"LINKVAULT_REFRESH_VALIDATION_INTERVAL", "6h", false},
		{"LINKVAULT_HTTP_MAX_BODY_BYTES", "1048576", false},
		{"LINKVAULT_LOG_LEVEL", "info", false},
		{"LINKVAULT_DATABASE_URL", "", true},
		{"LINKVAULT_DATABASE_URL_FILE", "", false},
		{"LINKVAULT_MASTER_KEY", "", true},
		{"LINKVAULT_MASTER_KEY_FILE", "", false},
		{"LINKVAULT_COINBASE_CLIENT_SECRET", "", true},
		{"LINKVAULT_COINBASE_CLIENT_SECRET_FILE", "", false},
		{"LINKVAULT_SANDBOX_CLIENT_SECRET_FILE", "", false},
		{"LINKVAULT_METRICS_ENABLED", "true", false},
	}
	for _, tt := range tests {
		v, ok := byName[tt.name]
		if !ok {
			t.Errorf("%s missing", tt.name)
			continue
		}
		if v.Default != tt.def || v.Secret != tt.secret || v.Description == "" {
			t.Errorf("%s = %+v, want default %q secret %v", tt.name, v, tt.def, tt.secret)
		}
	}
	if n := len(settings()); len(vars) <= n {
		t.Errorf("EnvVars lists %d variables for %d settings; twins or LINKVAULT_CONFIG missing", len(vars), n)
	}
	var buf bytes.Buffer
	if err := WriteEnvHelp(&buf); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if !strings.Contains(buf.String(), v.Name+" ") {
			t.Errorf("help output lacks %s", v.Name)
		}
	}
}

// secretMarkers gives every secret of a Config a distinct value that must never appear
// in any rendering.
func configWithSecrets() (Config, []string) {
	c := Default()
	markers := []string{"pg-pass-7781", "master-key-9921", "cb-secret-1122", "bn-secret-3344", "up-secret-5566", "sb-secret-7788"}
	c.Database.URL = linkvault.NewSecret("postgres://lv:" + markers[0] + "@db/lv")
	c.MasterKey = linkvault.NewSecret("v1:" + markers[1])
	c.Providers.Coinbase.ClientSecret = linkvault.NewSecret(markers[2])
	c.Providers.Binance.ClientSecret = linkvault.NewSecret(markers[3])
	c.Providers.Uphold.ClientSecret = linkvault.NewSecret(markers[4])
	c.Providers.Sandbox.ClientSecret = linkvault.NewSecret(markers[5])
	return c, markers
}

func TestConfigNeverRevealsSecrets(t *testing.T) {
	c, markers := configWithSecrets()
	jsonOut, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var textLog, jsonLog bytes.Buffer
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("config", "config", c, "ptr", &c)
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("config", "config", c, "ptr", &c)
	outputs := map[string]string{
		"%v":        fmt.Sprintf("%v", c),
		"%+v":       fmt.Sprintf("%+v", c),
		"%#v":       fmt.Sprintf("%#v", c),
		"%+v ptr":   fmt.Sprintf("%+v", &c),
		"json":      string(jsonOut),
		"slog text": textLog.String(),
		"slog json": jsonLog.String(),
	}
	for name, out := range outputs {
		if !strings.Contains(out, "redacted") {
			t.Errorf("%s output has no redaction marker; is it printing the config at all?\n%s", name, out)
		}
		for _, m := range markers {
			if strings.Contains(out, m) {
				t.Errorf("%s output reveals secret %q", name, m)
			}
		}
	}
}

func TestLoadAndValidateNeverRevealSecrets(t *testing.T) {
	const secret = "s3cr3t-value-4242"
	tests := []struct {
		name  string
		path  string
		env   fakeEnv
		files fakeFiles
	}{
		{"secret in a broken JSON file", "/c.json", nil, fakeFiles{"/c.json": `{"database": {"url": "postgres://u:` + secret + "\x01" + `@db"}}`}},
		{"secret with its twin", "", fakeEnv{"LINKVAULT_DATABASE_URL": secret, "LINKVAULT_DATABASE_URL_FILE": "/s"}, fakeFiles{"/s": secret}},
		{"secret beside a bad value", "", fakeEnv{"LINKVAULT_UPHOLD_CLIENT_SECRET": secret, "LINKVAULT_UPHOLD_TIMEOUT": "x"}, nil},
		{"master key with key file", "", fakeEnv{"LINKVAULT_MASTER_KEY": secret, "LINKVAULT_MASTER_KEY_FILE": "/k"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, tt.env.lookup, tt.files.read)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error reveals the secret: %v", err)
			}
		})
	}
	// Validation problems about secret settings name them without their values.
	c, markers := configWithSecrets() // sqlite driver with a database URL, both master key forms...
	c.MasterKeyFile = "/k"
	c.Providers.Sandbox.ClientID = ""
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, m := range markers {
		if strings.Contains(err.Error(), m) {
			t.Fatalf("Validate error reveals %q: %v", m, err)
		}
	}
}
