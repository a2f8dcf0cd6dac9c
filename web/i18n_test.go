package web_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/web"
)

// TestCatalogsComplete: every message of the English catalog is translated in every
// other catalog (the server fills a gap with English, which would show an English
// sentence in a Spanish page), no catalog has keys English lacks, and every literal
// key the page scripts pass to t() exists.
func TestCatalogsComplete(t *testing.T) {
	cats := map[string]map[string]string{}
	err := fs.WalkDir(web.Catalogs(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := fs.ReadFile(web.Catalogs(), p)
		if err != nil {
			return err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		cats[strings.TrimSuffix(p, ".json")] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	en := cats["en"]
	if len(en) == 0 || len(cats) < 2 {
		t.Fatalf("catalogs: %d languages, %d English keys", len(cats), len(en))
	}
	for lang, m := range cats {
		for k := range en {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s.json: %q is not translated", lang, k)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s.json: %q is not an English key", lang, k)
			}
		}
	}
	// t('key') and t("key") in the page scripts.
	call := regexp.MustCompile(`\bt\(\s*'([^']+)'`)
	err = fs.WalkDir(web.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(web.Static(), p)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			if _, ok := en[m[1]]; !ok && !slices.Contains([]string{"reason."}, m[1]) {
				t.Errorf("%s: t(%q) has no message", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
