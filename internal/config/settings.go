package config

import (
	"encoding"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linkvault/linkvault"
)

// EnvPrefix starts every environment variable linkvault reads.
const EnvPrefix = "LINKVAULT_"

// EnvConfigFile names the config file when Load is given no path.
const EnvConfigFile = EnvPrefix + "CONFIG"

// fileTwinSuffix and fileTwinKeySuffix name the *_FILE twin of a secret.
const (
	fileTwinSuffix    = "_FILE"
	fileTwinKeySuffix = "File"
)

var (
	secretType   = reflect.TypeFor[linkvault.Secret]()
	durationType = reflect.TypeFor[time.Duration]()
)

// setting is one leaf of Config, found by walking its struct tags.
type setting struct {
	env      string // full environment variable name
	key      string // dotted key path in the config file
	field    string // dotted Go field path, e.g. "HTTP.ReadTimeout"
	index    []int  // for reflect.Value.FieldByIndex
	typ      reflect.Type
	help     string
	fileTwin bool // a secret with an automatic *_FILE twin
}

// name is how problems refer to the setting: its variable and its file key.
func (s setting) name() string { return fmt.Sprintf("%s (file key %q)", s.env, s.key) }

// settings lists every leaf of Config in declaration order.
func settings() []setting {
	var out []setting
	walkSettings(reflect.TypeFor[Config](), EnvPrefix, "", "", "", nil, &out)
	return out
}

func walkSettings(t reflect.Type, envPrefix, keyPrefix, fieldPrefix, helpPrefix string, index []int, out *[]setting) {
	for i := range t.NumField() {
		f := t.Field(i)
		key := keyPrefix + f.Tag.Get("json")
		env := envPrefix + f.Tag.Get("env")
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != secretType {
			prefix := helpPrefix
			if label := f.Tag.Get("help"); label != "" {
				prefix += label + ": "
			}
			walkSettings(f.Type, env, key+".", fieldPrefix+f.Name+".", prefix, idx, out)
			continue
		}
		*out = append(*out, setting{
			env:      env,
			key:      key,
			field:    fieldPrefix + f.Name,
			index:    idx,
			typ:      f.Type,
			help:     helpPrefix + f.Tag.Get("help"),
			fileTwin: f.Type == secretType && f.Tag.Get("twin") != "none",
		})
	}
}

// set parses raw into the setting's field of c. Its errors never quote secret values.
func (s setting) set(c *Config, raw string) error {
	v := reflect.ValueOf(c).Elem().FieldByIndex(s.index)
	switch s.typ {
	case secretType:
		v.Set(reflect.ValueOf(linkvault.NewSecret(raw)))
		return nil
	case durationType:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a duration; use a number with a unit, e.g. 30s, 5m or 1h", raw)
		}
		v.SetInt(int64(d))
		return nil
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := u.UnmarshalText([]byte(strings.TrimSpace(raw))); err != nil {
			if s.typ == reflect.TypeFor[slog.Level]() {
				return fmt.Errorf("%q is not a log level; use debug, info, warn or error", raw)
			}
			if s.typ == reflect.TypeFor[Prefixes]() {
				return err // names the entry at fault
			}
			return fmt.Errorf("%q is not valid", raw)
		}
		return nil
	}
	switch s.typ.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a boolean; use true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, s.typ.Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a number", raw)
		}
		v.SetFloat(f)
	default:
		panic("config: unsupported setting type " + s.typ.String()) // caught by tests
	}
	return nil
}

// format renders the setting's value in c for help output; secrets render as "".
func (s setting) format(c *Config) string {
	v := reflect.ValueOf(c).Elem().FieldByIndex(s.index)
	switch {
	case s.typ == secretType:
		return ""
	case s.typ == durationType:
		return formatDuration(time.Duration(v.Int()))
	case s.typ == reflect.TypeFor[slog.Level]():
		return strings.ToLower(v.Interface().(slog.Level).String())
	}
	return fmt.Sprint(v.Interface())
}

// formatDuration drops zero trailing units: 10m rather than 10m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// EnvVar describes one recognised environment variable.
type EnvVar struct {
	Name        string // e.g. LINKVAULT_DATABASE_URL
	FileKey     string // the same setting in the config file, e.g. database.url; "" if none
	Description string
	Default     string // "" when there is none, it is derived, or it is secret
	Secret      bool   // the value is a secret; prefer its *_FILE twin
}

// EnvVars lists every environment variable Load recognises, in a stable order, each
// secret followed by its *_FILE twin.
func EnvVars() []EnvVar {
	defaults := Default()
	vars := []EnvVar{{
		Name:        EnvConfigFile,
		Description: "path of a JSON config file, read before the environment (environment wins)",
	}}
	for _, s := range settings() {
		vars = append(vars, EnvVar{
			Name:        s.env,
			FileKey:     s.key,
			Description: s.help,
			Default:     s.format(&defaults),
			Secret:      s.typ == secretType,
		})
		if s.fileTwin {
			vars = append(vars, EnvVar{
				Name:        s.env + fileTwinSuffix,
				FileKey:     s.key + fileTwinKeySuffix,
				Description: "path of a file holding the value of " + s.env,
			})
		}
	}
	return vars
}

// WriteEnvHelp writes EnvVars as an aligned table, for "linkvault serve -help".
func WriteEnvHelp(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION"); err != nil {
		return err
	}
	for _, v := range EnvVars() {
		def := v.Default
		if def == "" {
			def = "-"
		}
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, def, v.Description); err != nil {
			return err
		}
	}
	return tw.Flush()
}
