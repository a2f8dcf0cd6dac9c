package linkvault_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// One slog key style: an error is logged under the key "error", everywhere. sloglint
// (.golangci.yml, scripts/lint) forbids the usual other spellings ("err", "cause", ...);
// this test closes the rest: whatever the key, a value that is an error by its name
// (err, fooErr, x.Err, the result of .Error()) must be logged as "error".

// slogMethods are the logging calls whose arguments are message, then key-value pairs
// (With has no message).
var slogMethods = map[string]int{
	"Debug": 1, "Info": 1, "Warn": 1, "Error": 1,
	"DebugContext": 2, "InfoContext": 2, "WarnContext": 2, "ErrorContext": 2,
	"Log": 3, "With": 0,
}

// looksLikeError reports whether e is, by its spelling, an error value.
func looksLikeError(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.Ident:
		return v.Name == "err" || strings.HasSuffix(v.Name, "Err")
	case *ast.SelectorExpr:
		return v.Sel.Name == "Err" || strings.HasSuffix(v.Sel.Name, "Err")
	case *ast.CallExpr:
		if s, ok := v.Fun.(*ast.SelectorExpr); ok {
			return s.Sel.Name == "Error" && len(v.Args) == 0
		}
	}
	return false
}

// errorKeyViolations returns, for one parsed file, "file:line: key" for every error
// logged under a key other than "error".
func errorKeyViolations(fset *token.FileSet, f *ast.File) []string {
	var out []string
	check := func(key, val ast.Expr) {
		lit, ok := key.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || !looksLikeError(val) {
			return
		}
		if k, err := strconv.Unquote(lit.Value); err == nil && k != "error" {
			out = append(out, fset.Position(lit.Pos()).String()+": "+k)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		// slog.Any("key", err) and its typed siblings.
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "slog" && len(call.Args) == 2 {
			check(call.Args[0], call.Args[1])
			return true
		}
		skip, ok := slogMethods[sel.Sel.Name]
		if !ok || len(call.Args) < skip {
			return true
		}
		args := call.Args[skip:]
		for i := 0; i+1 < len(args); i += 2 {
			if _, isLit := args[i].(*ast.BasicLit); !isLit {
				// An slog.Attr (checked above as a call) or something else: pairs
				// after it no longer line up, so stop at the first non-key.
				break
			}
			check(args[i], args[i+1])
		}
		return true
	})
	return out
}

func TestErrorsAreLoggedUnderTheKeyError(t *testing.T) {
	fset := token.NewFileSet()
	var bad []string
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (name == "node_modules" || name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		bad = append(bad, errorKeyViolations(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("walked %d Go files; the tree was not found", files)
	}
	for _, b := range bad {
		t.Errorf("%s: an error logged under this key; log errors under \"error\"", b)
	}
}

// TestErrorKeyRuleCatchesViolations runs the rule on known cases, so it cannot pass by
// matching nothing.
func TestErrorKeyRuleCatchesViolations(t *testing.T) {
	src := `package p
func f() {
	log.Warn("a", "err", err)                  // bad
	log.Info("b", "error", err)                // good
	log.ErrorContext(ctx, "c", "cause", e.Err) // bad
	log.With("reason", err.Error())            // bad
	log.Info("d", "status", status)            // good
	_ = slog.Any("problem", fetchErr)          // bad
	_ = slog.String("error", err.Error())      // good
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := errorKeyViolations(fset, f)
	want := []string{"p.go:3:16: err", "p.go:5:29: cause", "p.go:6:11: reason", "p.go:8:15: problem"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
