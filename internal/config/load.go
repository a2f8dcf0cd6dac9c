package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error lists configuration problems, all at once. Problems never quote secret values.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "configuration: " + e.Problems[0]
	}
	return fmt.Sprintf("configuration has %d problems:\n  - %s", len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Load builds a Config from Default, then the JSON config file at path (if path is
// empty, the file named by LINKVAULT_CONFIG, if any), then the LINKVAULT_* environment
// variables, which override the file. An environment variable set to the empty string
// counts as unset. A secret may be given directly or through its *_FILE twin (a path
// whose content, minus trailing newlines, is the value), never both; LINKVAULT_MASTER_KEY
// and LINKVAULT_MASTER_KEY_FILE likewise exclude each other, and setting one in the
// environment replaces the other from the file.
//
// lookupEnv and readFile are os.LookupEnv and os.ReadFile in production. Load reports
// malformed values, unknown file keys and unreadable files; call Validate on the result
// (after any command-line overrides) to check the values make sense together.
func Load(path string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*Config, error) {
	c := Default()
	l := &loader{cfg: &c, readFile: readFile, settings: settings()}
	if path == "" {
		path, _ = lookupEnv(EnvConfigFile)
	}
	if path != "" {
		data, err := readFile(path)
		if err != nil {
			return nil, &Error{Problems: []string{fmt.Sprintf("cannot read config file: %v", err)}}
		}
		l.applyFile(path, data)
	}
	l.applyEnv(lookupEnv)
	if len(l.problems) > 0 {
		return nil, &Error{Problems: l.problems}
	}
	return &c, nil
}

type loader struct {
	cfg      *Config
	readFile func(string) ([]byte, error)
	settings []setting
	problems []string
}

func (l *loader) addf(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// readSecretFile returns the content of a *_FILE twin without trailing newlines.
func (l *loader) readSecretFile(path string) (string, error) {
	data, err := l.readFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read: %v", err)
	}
	v := strings.TrimRight(string(data), "\r\n")
	if v == "" {
		return "", fmt.Errorf("file %s is empty", path)
	}
	return v, nil
}

// The two settings that are each other's twin without the automatic *_FILE rule.
const (
	masterKeyField     = "MasterKey"
	masterKeyFileField = "MasterKeyFile"
)

func (l *loader) applyFile(path string, data []byte) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		// Only the position is reported: the decoder's text may quote a character of
		// a secret value.
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			l.addf("config file %s is not valid JSON (syntax error at byte %d)", path, syntax.Offset)
		} else {
			l.addf("config file %s must hold one JSON object", path)
		}
		return
	}
	if dec.More() {
		l.addf("config file %s has data after its JSON object", path)
		return
	}
	l.checkUnknownKeys(path, root)

	set := make(map[string]bool) // by Go field path
	for _, s := range l.settings {
		raw, ok, err := lookupKey(root, s.key)
		twinRaw, twinOK, twinErr := "", false, error(nil)
		if s.fileTwin {
			twinRaw, twinOK, twinErr = lookupKey(root, s.key+fileTwinKeySuffix)
		}
		for _, e := range []error{err, twinErr} {
			if e != nil {
				l.addf("config file %s: %v", path, e)
			}
		}
		if err != nil || twinErr != nil {
			continue
		}
		if ok && twinOK {
			l.addf("config file %s: set %q or %q, not both", path, s.key, s.key+fileTwinKeySuffix)
			continue
		}
		if twinOK {
			v, err := l.readSecretFile(twinRaw)
			if err != nil {
				l.addf("config file %s: %q: %v", path, s.key+fileTwinKeySuffix, err)
				continue
			}
			raw, ok = v, true
		}
		if !ok {
			continue
		}
		if err := s.set(l.cfg, raw); err != nil {
			l.addf("config file %s: %q: %v", path, s.key, err)
			continue
		}
		set[s.field] = true
	}
	if set[masterKeyField] && set[masterKeyFileField] {
		l.addf("config file %s: set %q or %q, not both", path, "masterKey", "masterKeyFile")
	}
}

// lookupKey finds a dotted key in the decoded file and renders a scalar as text.
// ok is false when the key is absent or null.
func lookupKey(root map[string]any, dotted string) (raw string, ok bool, err error) {
	var cur any = root
	for part := range strings.SplitSeq(dotted, ".") {
		obj, isObj := cur.(map[string]any)
		if !isObj {
			return "", false, nil // a parent is not an object; reported by checkUnknownKeys
		}
		if cur, ok = obj[part]; !ok {
			return "", false, nil
		}
	}
	switch v := cur.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case json.Number:
		return v.String(), true, nil
	case bool:
		return fmt.Sprint(v), true, nil
	}
	return "", false, fmt.Errorf("%q must be a string, number or boolean", dotted)
}

// checkUnknownKeys reports keys of the file that are no setting (typically typos).
func (l *loader) checkUnknownKeys(path string, root map[string]any) {
	leaves := make(map[string]bool)
	objects := make(map[string]bool)
	for _, s := range l.settings {
		leaves[s.key] = true
		if s.fileTwin {
			leaves[s.key+fileTwinKeySuffix] = true
		}
		parts := strings.Split(s.key, ".")
		for i := 1; i < len(parts); i++ {
			objects[strings.Join(parts[:i], ".")] = true
		}
	}
	var unknown []string
	var walk func(prefix string, obj map[string]any)
	walk = func(prefix string, obj map[string]any) {
		for k, v := range obj {
			full := prefix + k
			switch {
			case objects[full]:
				if sub, ok := v.(map[string]any); ok {
					walk(full+".", sub)
				} else {
					l.addf("config file %s: %q must be an object", path, full)
				}
			case !leaves[full]:
				unknown = append(unknown, full)
			}
		}
	}
	walk("", root)
	slices.Sort(unknown)
	for _, k := range unknown {
		l.addf("config file %s: unknown setting %q", path, k)
	}
}

func (l *loader) applyEnv(lookupEnv func(string) (string, bool)) {
	set := make(map[string]bool) // by Go field path
	for _, s := range l.settings {
		raw, ok := lookupNonEmpty(lookupEnv, s.env)
		if s.fileTwin {
			twin := s.env + fileTwinSuffix
			twinPath, twinOK := lookupNonEmpty(lookupEnv, twin)
			if ok && twinOK {
				l.addf("set %s or %s, not both", s.env, twin)
				continue
			}
			if twinOK {
				v, err := l.readSecretFile(twinPath)
				if err != nil {
					l.addf("%s: %v", twin, err)
					continue
				}
				raw, ok = v, true
			}
		}
		if !ok {
			continue
		}
		if err := s.set(l.cfg, raw); err != nil {
			l.addf("%s: %v", s.env, err)
			continue
		}
		set[s.field] = true
	}
	switch {
	case set[masterKeyField] && set[masterKeyFileField]:
		l.addf("set %sMASTER_KEY or %sMASTER_KEY_FILE, not both", EnvPrefix, EnvPrefix)
	case set[masterKeyField]:
		l.cfg.MasterKeyFile = ""
	case set[masterKeyFileField]:
		l.cfg.MasterKey = Default().MasterKey
	}
}

func lookupNonEmpty(lookupEnv func(string) (string, bool), name string) (string, bool) {
	v, ok := lookupEnv(name)
	return v, ok && v != ""
}
